// Autograd entry points and the thread-local modes (grad, autocast) that
// scopes in TypeScript switch on and off. JS runs ops on one thread, so the
// thread-local state set here applies to every op that follows.
#include "common.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>

namespace ortho {
namespace {

std::vector<at::Tensor> tensorList(Napi::Env env, const Napi::Value& v, const char* what, bool allowNull) {
  std::vector<at::Tensor> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (allowNull && (item.IsNull() || item.IsUndefined())) out.emplace_back();
    else out.push_back(unwrapTensor(env, item, what));
  }
  return out;
}

// backward(tensors, grads|null, retainGraph, createGraph)
Napi::Value backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto tensors = tensorList(env, info[0], "backward", false);
  auto grads = tensorList(env, info[1], "backward", true);
  bool retain = info[2].ToBoolean();
  bool create = info[3].ToBoolean();
  guarded(env, "backward", [&]() {
    for (const auto& t : tensors)
      TORCH_CHECK(t.requires_grad(), "the tensor does not require grad and has no grad_fn (was it computed under noGrad, or from tensors without requiresGrad?)");
    torch::autograd::backward(tensors, grads, retain, create);
  });
  return env.Undefined();
}

// grad(outputs, inputs, gradOutputs|null, retainGraph, createGraph, allowUnused)
Napi::Value grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto outputs = tensorList(env, info[0], "autograd.grad", false);
  auto inputs = tensorList(env, info[1], "autograd.grad", false);
  auto gradOutputs = tensorList(env, info[2], "autograd.grad", true);
  bool create = info[4].ToBoolean();
  c10::optional<bool> retain;
  if (info[3].IsBoolean()) retain = info[3].As<Napi::Boolean>().Value();
  bool allowUnused = info[5].ToBoolean();
  return guarded(env, "autograd.grad", [&]() {
    auto result = torch::autograd::grad(outputs, inputs, gradOutputs, retain, create, allowUnused);
    Napi::Array out = Napi::Array::New(env, result.size());
    for (size_t i = 0; i < result.size(); i++)
      out.Set(i, result[i].defined() ? wrapTensor(env, result[i]) : env.Null());
    return out;
  });
}

Napi::Value setGradEnabled(const Napi::CallbackInfo& info) {
  bool previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(info[0].ToBoolean());
  return Napi::Boolean::New(info.Env(), previous);
}

Napi::Value isGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

// autocastEnter(deviceType "cpu"|"cuda", dtypeCode) -> opaque previous state
Napi::Value autocastEnter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string device = info[0].As<Napi::String>().Utf8Value();
  at::ScalarType dtype = scalarTypeFromCode(env, info[1].As<Napi::Number>().Int32Value());
  Napi::Array previous = Napi::Array::New(env, 2);
  if (device == "cpu") {
    previous.Set(0u, at::autocast::is_cpu_enabled());
    previous.Set(1u, static_cast<int>(at::autocast::get_autocast_cpu_dtype()));
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else if (device == "cuda") {
    previous.Set(0u, at::autocast::is_enabled());
    previous.Set(1u, static_cast<int>(at::autocast::get_autocast_gpu_dtype()));
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    throw Napi::TypeError::New(env, "autocast: device type must be 'cpu' or 'cuda', got '" + device + "'");
  }
  at::autocast::increment_nesting();
  return previous;
}

// autocastExit(deviceType, previousState)
Napi::Value autocastExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string device = info[0].As<Napi::String>().Utf8Value();
  Napi::Array previous = info[1].As<Napi::Array>();
  bool enabled = previous.Get(0u).ToBoolean();
  at::ScalarType dtype = scalarTypeFromCode(env, previous.Get(1u).As<Napi::Number>().Int32Value());
  // Cast weights are cached for the outermost region only; drop them on leaving it.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (device == "cpu") {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
  return env.Undefined();
}

Napi::Value retainGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = unwrapTensor(env, info[0], "retainGrad");
  guarded(env, "retainGrad", [&]() { t.retain_grad(); });
  return env.Undefined();
}

Napi::Value hasGradFn(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrapTensor(info.Env(), info[0], "gradFn").grad_fn() != nullptr);
}

}  // namespace

void registerAutograd(Napi::Env env, Napi::Object exports) {
  exports.Set("backward", Napi::Function::New(env, backward));
  exports.Set("autogradGrad", Napi::Function::New(env, grad));
  exports.Set("setGradEnabled", Napi::Function::New(env, setGradEnabled));
  exports.Set("isGradEnabled", Napi::Function::New(env, isGradEnabled));
  exports.Set("autocastEnter", Napi::Function::New(env, autocastEnter));
  exports.Set("autocastExit", Napi::Function::New(env, autocastExit));
  exports.Set("retainGrad", Napi::Function::New(env, retainGrad));
  exports.Set("hasGradFn", Napi::Function::New(env, hasGradFn));
}

}  // namespace ortho
