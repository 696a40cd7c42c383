// The NCCL process group, for CUDA tensors. Its header needs CUDA's and NCCL's
// headers, so it is compiled in only when the build found them next to a CUDA
// libtorch (ORTHO_WITH_NCCL); a CPU build answers that NCCL is not available.
#include "distributed.h"

#include <cstdlib>
#include <stdexcept>

#ifdef ORTHO_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace ortho {
namespace {

// ProcessGroupNCCL::shutdown() exists from libtorch 2.2 on; before, the destructor does it all.
template <typename Group>
auto shutdownIfAble(Group& group, int) -> decltype(group.shutdown(), void()) { group.shutdown(); }
template <typename Group>
void shutdownIfAble(Group&, long) {}

}  // namespace

bool ncclBuiltIn() {
#ifdef ORTHO_WITH_NCCL
  return true;
#else
  return false;
#endif
}

c10::intrusive_ptr<CollectiveBackend> makeNcclBackend(const GroupBox& g) {
#ifdef ORTHO_WITH_NCCL
  // Blocking waits: a collective that times out then throws from wait(), which
  // becomes a JS Error, instead of NCCL's watchdog thread ending the process.
  // Both spellings (libtorch 2.2 renamed it); a value the user set wins.
  setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
  setenv("NCCL_BLOCKING_WAIT", "1", 0);
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = g.timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(g.store, g.rank, g.size, options);
#else
  throw std::logic_error("makeNcclBackend: NCCL is not built in (check ncclBuiltIn() first)");
#endif
}

void shutdownNccl(CollectiveBackend* backend) {
#ifdef ORTHO_WITH_NCCL
  // As destroy_process_group() does: without it libtorch 2.4+ warns at exit that resources may leak.
  // Also runs from finalizers, where nothing may throw: a failed shutdown leaves the rest to the destructor.
  try {
    if (auto* nccl = dynamic_cast<c10d::ProcessGroupNCCL*>(backend)) shutdownIfAble(*nccl, 0);
  } catch (const std::exception&) {
  }
#endif
}

}  // namespace ortho
