// Autograd entry points and the thread-local modes (grad, autocast) that
// scopes in TypeScript switch on and off. JS runs ops on one thread, so the
// thread-local state set here applies to every op that follows.
#include "common.h"
#include "torch_compat.h"

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

// Autocast state of one device type. libtorch 2.4 replaced the per-device
// functions (set_cpu_enabled, set_autocast_gpu_dtype, …) by ones taking the
// device type, and later releases drop the old names.
struct AutocastState {
  bool enabled;
  at::ScalarType dtype;
};

AutocastState autocastState(c10::DeviceType device) {
#if ORTHO_TORCH_AT_LEAST(2, 4)
  return {at::autocast::is_autocast_enabled(device), at::autocast::get_autocast_dtype(device)};
#else
  if (device == c10::DeviceType::CPU) return {at::autocast::is_cpu_enabled(), at::autocast::get_autocast_cpu_dtype()};
  return {at::autocast::is_enabled(), at::autocast::get_autocast_gpu_dtype()};
#endif
}

void setAutocastState(c10::DeviceType device, AutocastState state) {
#if ORTHO_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device, state.enabled);
  at::autocast::set_autocast_dtype(device, state.dtype);
#else
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_cpu_enabled(state.enabled);
    at::autocast::set_autocast_cpu_dtype(state.dtype);
  } else {
    at::autocast::set_enabled(state.enabled);
    at::autocast::set_autocast_gpu_dtype(state.dtype);
  }
#endif
}

c10::DeviceType autocastDevice(Napi::Env env, const Napi::Value& value) {
  std::string device = value.As<Napi::String>().Utf8Value();
  if (device == "cpu") return c10::DeviceType::CPU;
  if (device == "cuda") return c10::DeviceType::CUDA;
  throw Napi::TypeError::New(env, "autocast: device type must be 'cpu' or 'cuda', got '" + device + "'");
}

// autocastEnter(deviceType "cpu"|"cuda", dtypeCode) -> opaque previous state
Napi::Value autocastEnter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  c10::DeviceType device = autocastDevice(env, info[0]);
  at::ScalarType dtype = scalarTypeFromCode(env, info[1].As<Napi::Number>().Int32Value());
  AutocastState before = autocastState(device);
  Napi::Array previous = Napi::Array::New(env, 2);
  previous.Set(0u, before.enabled);
  previous.Set(1u, static_cast<int>(before.dtype));
  setAutocastState(device, {true, dtype});
  at::autocast::increment_nesting();
  return previous;
}

// autocastExit(deviceType, previousState)
Napi::Value autocastExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  c10::DeviceType device = autocastDevice(env, info[0]);
  Napi::Array previous = info[1].As<Napi::Array>();
  bool enabled = previous.Get(0u).ToBoolean();
  at::ScalarType dtype = scalarTypeFromCode(env, previous.Get(1u).As<Napi::Number>().Int32Value());
  // Cast weights are cached for the outermost region only; drop them on leaving it.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  setAutocastState(device, {enabled, dtype});
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
