// The few places where libtorch's C++ API changed between the versions the
// addon builds against (Debian's 1.13 and the 2.x of pip wheels and the
// official archives).
#pragma once

#include <torch/version.h>

#define ORTHO_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
