// DistributedDataParallel's gradient engine: libtorch's own c10d::Reducer.
// It hooks every parameter's gradient accumulator, copies each gradient into
// its bucket as soon as backward produces it, and starts the bucket's
// all-reduce on the process group while backward is still computing the
// gradients of earlier layers; the end-of-backward callback waits for the
// buckets and writes the averaged gradients back. Buckets follow PyTorch's
// DDP: a 1 MiB first bucket, then `bucketCapBytes`, in reverse parameter
// order, and after the first iteration in the order gradients really arrived.
#include "distributed.h"
#include "torch_compat.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/distributed/c10d/logger.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>

#include <algorithm>

namespace ortho {
namespace {

const napi_type_tag kReducerTag = {0x6f7274686f67696eULL, 0x7265647563657231ULL};

struct ReducerBox {
  std::shared_ptr<c10d::Reducer> reducer;
  // The reducer reports to its logger without checking that one is set (e.g. when the set of unused
  // parameters changes between iterations): it must have one, as Python's DDP always gives it.
  std::shared_ptr<c10d::Logger> logger;
  // Keeps the group's JS handle (and so its GroupBox) alive while the reducer is.
  Napi::Reference<Napi::Value> groupRef;
  GroupBox* group = nullptr;
};

void releaseReducer(ReducerBox* r) {
  // A reducer whose group failed may have an all-reduce stuck on a dead peer: leak it (and its logger) with the group.
  if (r->group && r->group->broken) {
    (void)new std::shared_ptr<c10d::Logger>(r->logger);
    (void)new std::shared_ptr<c10d::Reducer>(r->reducer);
  }
  r->logger.reset();  // the logger goes first: it reads the reducer when destroyed
  r->reducer.reset();
  if (!r->groupRef.IsEmpty()) r->groupRef.Reset();
}

// The process group the reducer talks to. Since libtorch 2, gloo and NCCL are
// Backends that a ProcessGroup dispatches to by device type, so the reducer
// gets a ProcessGroup sending every tensor to our one backend.
c10::intrusive_ptr<c10d::ProcessGroup> processGroupFor(GroupBox* g) {
#if ORTHO_TORCH_AT_LEAST(2, 0)
  const auto type = g->nccl ? c10d::ProcessGroup::BackendType::NCCL : c10d::ProcessGroup::BackendType::GLOO;
#if ORTHO_TORCH_AT_LEAST(2, 4)
  auto pg = c10::make_intrusive<c10d::ProcessGroup>(g->store, g->rank, g->size);
#else
  auto pg = c10::make_intrusive<c10d::ProcessGroup>(g->store, g->rank, g->size,
                                                    c10::make_intrusive<c10d::ProcessGroup::Options>(g->nccl ? "nccl" : "gloo", g->timeout));
#endif
  pg->setDefaultBackend(type);
  pg->setBackend(c10::DeviceType::CPU, type, g->pg);
  pg->setBackend(c10::DeviceType::CUDA, type, g->pg);
  return pg;
#else
  return g->pg;
#endif
}

ReducerBox* reducerOf(Napi::Env env, const Napi::Value& value, const char* what) {
  ReducerBox* r = taggedData<ReducerBox>(env, value, kReducerTag);
  if (!r) throw Napi::TypeError::New(env, std::string(what) + ": expected a gradient reducer");
  if (!r->reducer) throw Napi::Error::New(env, std::string(what) + ": the reducer has been destroyed");
  if (!r->group->pg) throw Napi::Error::New(env, std::string(what) + ": its process group has been destroyed");
  return r;
}

// Runs `body`; a peer failure becomes the group's explained message (and marks it broken).
template <typename F>
void collective(Napi::Env env, ReducerBox* r, const std::string& op, F&& body) {
  try {
    body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string raw = messageOf(e);
    if (!isPeerFailure(raw)) throw Napi::Error::New(env, op + ": " + raw);
    r->group->broken = true;
    throw Napi::Error::New(env, explainCollectiveFailure(*r->group, op, raw));
  }
}

std::vector<at::Tensor> tensorsOf(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, std::string(what) + ": expected an array of tensors");
  Napi::Array arr = value.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(unwrapTensor(env, arr.Get(i), what));
  return out;
}

// reducerCreate(group, params, names, bucketCapBytes, firstBucketBytes, findUnusedParameters, gradientAsBucketView)
Napi::Value reducerCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* what = "DistributedDataParallel";
  GroupBox* g = groupOf(env, info[0], what);
  std::vector<at::Tensor> params = tensorsOf(env, info[1], what);
  if (params.empty()) throw Napi::Error::New(env, std::string(what) + ": the module has no parameter that requires a gradient");
  Napi::Array names = info[2].As<Napi::Array>();
  auto capBytes = static_cast<int64_t>(info[3].As<Napi::Number>().DoubleValue());
  auto firstBytes = static_cast<int64_t>(info[4].As<Napi::Number>().DoubleValue());
  bool findUnused = info[5].ToBoolean();
  bool asBucketView = info[6].ToBoolean();
  std::unordered_map<size_t, std::string> paramNames;
  for (uint32_t i = 0; i < names.Length() && i < params.size(); i++) paramNames[i] = names.Get(i).As<Napi::String>().Utf8Value();

  auto box = std::make_unique<ReducerBox>();
  box->group = g;
  guarded(env, what, [&]() {
    for (size_t i = 0; i < params.size(); i++)
      TORCH_CHECK(params[i].requires_grad() && params[i].is_leaf(), "parameter ", paramNames[i], " is not a leaf that requires a gradient");
    std::vector<bool> sparse(params.size(), false);
    std::vector<size_t> limits{static_cast<size_t>(firstBytes), static_cast<size_t>(capBytes)};
    auto assignment = c10d::compute_bucket_assignment_by_size(params, limits, sparse);
    auto buckets = std::get<0>(assignment);
    auto perBucketLimits = std::get<1>(assignment);
    // Gradients arrive roughly in reverse order of the parameters: the last layer's bucket goes first.
    std::reverse(buckets.begin(), buckets.end());
    std::reverse(perBucketLimits.begin(), perBucketLimits.end());
    box->reducer = std::make_shared<c10d::Reducer>(params, buckets, perBucketLimits, processGroupFor(g), sparse, capBytes,
                                                   findUnused, asBucketView, paramNames, firstBytes);
    box->logger = std::make_shared<c10d::Logger>(box->reducer);
    box->reducer->set_logger(box->logger);
  });
  box->groupRef = Napi::Persistent(info[0]);
  return wrapTagged<ReducerBox, releaseReducer>(env, std::move(box), kReducerTag);
}

// reducerPrepareForward(reducer) -> whether the buckets were rebuilt (a collective: every rank calls it).
Napi::Value reducerPrepareForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReducerBox* r = reducerOf(env, info[0], "DistributedDataParallel.forward");
  bool rebuilt = false;
  collective(env, r, "DistributedDataParallel.forward (bucket rebuild)", [&]() {
    r->reducer->prepare_for_forward();
    rebuilt = r->reducer->rebuild_buckets();
  });
  return Napi::Boolean::New(env, rebuilt);
}

// reducerPrepareBackward(reducer, outputs): the next backward all-reduces the gradients.
Napi::Value reducerPrepareBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReducerBox* r = reducerOf(env, info[0], "DistributedDataParallel");
  std::vector<at::Tensor> outputs = tensorsOf(env, info[1], "DistributedDataParallel");
  guarded(env, "DistributedDataParallel", [&]() { r->reducer->prepare_for_backward(outputs); });
  return env.Undefined();
}

// reducerBackward(reducer, loss[, retainGraph, createGraph]): loss.backward() with the all-reduce failures explained.
Napi::Value reducerBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReducerBox* r = reducerOf(env, info[0], "DistributedDataParallel.backward");
  at::Tensor loss = unwrapTensor(env, info[1], "DistributedDataParallel.backward");
  if (!loss.requires_grad())
    throw Napi::Error::New(env, "DistributedDataParallel.backward: the loss does not require grad and has no grad_fn");
  // Optional retainGraph / createGraph flags, as Tensor.backward takes them.
  const bool createGraph = info.Length() > 3 && info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  c10::optional<bool> retainGraph = c10::nullopt;
  if (info.Length() > 2 && info[2].IsBoolean()) retainGraph = info[2].As<Napi::Boolean>().Value();
  collective(env, r, "gradient all-reduce (DistributedDataParallel backward)",
             [&]() { torch::autograd::backward({loss}, {}, retainGraph, createGraph); });
  return env.Undefined();
}

// reducerBuckets(reducer) -> the number of elements of each bucket, in reduction order.
Napi::Value reducerBuckets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReducerBox* r = reducerOf(env, info[0], "DistributedDataParallel.buckets");
  std::vector<c10d::GradBucket> buckets = guarded(env, "DistributedDataParallel.buckets", [&]() {
    return r->reducer->get_grad_buckets(/*return_zero_tensors=*/true);
  });
  Napi::Array out = Napi::Array::New(env, buckets.size());
  for (size_t i = 0; i < buckets.size(); i++) out.Set(static_cast<uint32_t>(i), static_cast<double>(buckets[i].getBuffer().numel()));
  return out;
}

Napi::Value reducerDestroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReducerBox* r = taggedData<ReducerBox>(env, info[0], kReducerTag);
  if (!r) throw Napi::TypeError::New(env, "DistributedDataParallel.destroy: expected a gradient reducer");
  guarded(env, "DistributedDataParallel.destroy", [&]() { releaseReducer(r); });
  return env.Undefined();
}

}  // namespace

void registerReducer(Napi::Env env, Napi::Object exports) {
  exports.Set("reducerCreate", Napi::Function::New(env, reducerCreate));
  exports.Set("reducerPrepareForward", Napi::Function::New(env, reducerPrepareForward));
  exports.Set("reducerPrepareBackward", Napi::Function::New(env, reducerPrepareBackward));
  exports.Set("reducerBackward", Napi::Function::New(env, reducerBackward));
  exports.Set("reducerBuckets", Napi::Function::New(env, reducerBuckets));
  exports.Set("reducerDestroy", Napi::Function::New(env, reducerDestroy));
}

}  // namespace ortho
