// The c10d process group as the addon holds it, shared by the collectives
// (distributed.cpp) and the DDP gradient reducer (reducer.cpp).
#pragma once

#include "common.h"
#include "torch_compat.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <string>

namespace ortho {

// What gloo and NCCL implement: since libtorch 2.0 a c10d::Backend that a
// ProcessGroup dispatches to, before that a ProcessGroup itself.
#if ORTHO_TORCH_AT_LEAST(2, 0)
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

struct GroupBox {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<CollectiveBackend> pg;
  bool nccl = false;  // else gloo
  int rank = 0;
  int size = 1;
  std::chrono::milliseconds timeout{0};
  std::string masterAddr;
  int masterPort = 0;
  // After a failed collective gloo's worker threads may still be blocked on a
  // dead peer: destroying the group would then wait for them, so it is leaked.
  bool broken = false;
};

// The live group behind a JS handle; throws a JS TypeError/Error naming `what` otherwise.
GroupBox* groupOf(Napi::Env env, const Napi::Value& value, const char* what);

// The first line of a libtorch/gloo exception, without C++ backtrace.
std::string messageOf(const std::exception& e);

// Turns gloo's wording for a failed collective into a message that says what
// happened (a peer exited, or did not answer within the timeout).
std::string explainCollectiveFailure(const GroupBox& g, const std::string& op, const std::string& raw);

// True when `raw` reads like a peer problem (timeout, closed connection), not a usage error.
bool isPeerFailure(const std::string& raw);

void registerReducer(Napi::Env env, Napi::Object exports);

// NCCL's process group (nccl_backend.cpp); only when ncclBuiltIn() (common.h).
c10::intrusive_ptr<CollectiveBackend> makeNcclBackend(const GroupBox& g);
// Closes an NCCL group's communicators before it is released (nothing for other backends).
void shutdownNccl(CollectiveBackend* backend);

}  // namespace ortho
