// What libtorch's build generates here for a shared CUDA build; some packages
// (Debian's CPU-only libtorch) leave the file out. For compile checks only.
#pragma once
#define C10_CUDA_BUILD_SHARED_LIBS
