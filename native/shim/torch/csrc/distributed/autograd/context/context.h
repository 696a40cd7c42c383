// Stand-in for the distributed-autograd (RPC) context header, which Debian's
// libtorch-dev does not ship although c10d/reducer.hpp includes it. The
// Reducer only holds a shared_ptr and an atomic pointer to this context
// (their layout does not depend on the class) and names its GradCallback
// type in a static_assert; the addon never uses distributed autograd.
// CMake adds this folder only when the real header is missing.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};

using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
