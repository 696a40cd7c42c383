// Tensor handles: creation from JS typed arrays, copies back, metadata and
// deterministic disposal.
#include "common.h"

#include <atomic>
#include <cstring>

namespace ortho {
namespace {

const napi_type_tag kTensorTag = {0x6f7274686f67696eULL, 0x74656e736f72a11bULL};
std::atomic<int64_t> gLiveTensors{0};

void releaseBox(Napi::Env env, TensorBox* box) {
  if (box->tensor.defined()) {
    gLiveTensors--;
    box->tensor.reset();
  }
  if (box->accountedBytes != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -box->accountedBytes);
    box->accountedBytes = 0;
  }
}

Napi::Array toJsIntArray(Napi::Env env, c10::IntArrayRef values) {
  Napi::Array out = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++) out.Set(i, Napi::Number::New(env, static_cast<double>(values[i])));
  return out;
}

std::vector<int64_t> shapeFromJs(Napi::Env env, const Napi::Value& value) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "shape must be an array of non-negative integers");
  Napi::Array arr = value.As<Napi::Array>();
  std::vector<int64_t> shape(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d)))
      throw Napi::TypeError::New(env, "shape must be an array of non-negative integers");
    shape[i] = static_cast<int64_t>(d);
  }
  return shape;
}

// fromBuffer(typedArray, shape, dtypeCode): copies the bytes into a new CPU tensor.
Napi::Value fromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromBuffer: expected a typed array");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  std::vector<int64_t> shape = shapeFromJs(env, info[1]);
  at::ScalarType dtype = scalarTypeFromCode(env, info[2].As<Napi::Number>().Int32Value());
  return guarded(env, "fromBuffer", [&]() {
    at::Tensor out = at::empty(shape, at::TensorOptions().dtype(dtype));
    size_t need = out.nbytes();
    if (array.ByteLength() != need)
      throw Napi::TypeError::New(env, "fromBuffer: the data holds " + std::to_string(array.ByteLength()) +
                                          " bytes but shape and dtype need " + std::to_string(need));
    auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    if (need > 0) std::memcpy(out.data_ptr(), base, need);
    return wrapTensor(env, out);
  });
}

// toBuffer(tensor): a fresh ArrayBuffer holding the tensor's elements in row-major order.
Napi::Value toBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = unwrapTensor(env, info[0], "toBuffer");
  return guarded(env, "toBuffer", [&]() {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    if (c.is_conj()) c = c.resolve_conj();
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, c.nbytes());
    if (c.nbytes() > 0) std::memcpy(buffer.Data(), c.data_ptr(), c.nbytes());
    return buffer;
  });
}

Napi::Value dispose(const Napi::CallbackInfo& info) {
  TensorBox* box = boxOf(info.Env(), info[0]);
  if (box) releaseBox(info.Env(), box);
  return info.Env().Undefined();
}

// accountExternal(handle): tells V8 about the storage this handle alone keeps
// alive, so that garbage collection (and with it the handle's finalizer) comes
// sooner when such handles are dropped without dispose(). Called from JS only
// for tensors no scope owns: reporting every scoped temporary too would make
// V8 run a full collection every few large operations of a training step.
Napi::Value accountExternal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TensorBox* box = boxOf(env, info[0]);
  if (!box || !box->tensor.defined() || box->accountedBytes != 0) return env.Undefined();
  const at::Tensor& t = box->tensor;
  if (t.has_storage() && t.device().is_cpu() && t.storage().use_count() == 1) {
    box->accountedBytes = static_cast<int64_t>(t.storage().nbytes());
    if (box->accountedBytes > 0) Napi::MemoryManagement::AdjustExternalMemory(env, box->accountedBytes);
  }
  return env.Undefined();
}

Napi::Value isDisposed(const Napi::CallbackInfo& info) {
  TensorBox* box = boxOf(info.Env(), info[0]);
  return Napi::Boolean::New(info.Env(), box == nullptr || !box->tensor.defined());
}

Napi::Value shape(const Napi::CallbackInfo& info) {
  return toJsIntArray(info.Env(), unwrapTensor(info.Env(), info[0], "shape").sizes());
}

Napi::Value strides(const Napi::CallbackInfo& info) {
  return toJsIntArray(info.Env(), unwrapTensor(info.Env(), info[0], "strides").strides());
}

Napi::Value dtype(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(unwrapTensor(info.Env(), info[0], "dtype").scalar_type()));
}

Napi::Value device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), unwrapTensor(info.Env(), info[0], "device").device().str());
}

Napi::Value numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(unwrapTensor(info.Env(), info[0], "numel").numel()));
}

Napi::Value dim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(unwrapTensor(info.Env(), info[0], "dim").dim()));
}

Napi::Value isContiguous(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrapTensor(info.Env(), info[0], "isContiguous").is_contiguous());
}

Napi::Value requiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrapTensor(info.Env(), info[0], "requiresGrad").requires_grad());
}

Napi::Value setRequiresGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = unwrapTensor(env, info[0], "requiresGrad_");
  bool flag = info[1].ToBoolean();
  guarded(env, "requiresGrad_", [&]() { t.set_requires_grad(flag); });
  return env.Undefined();
}

Napi::Value isLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrapTensor(info.Env(), info[0], "isLeaf").is_leaf());
}

Napi::Value gradOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& g = unwrapTensor(env, info[0], "grad").grad();
  if (!g.defined()) return env.Null();
  return wrapTensor(env, g);
}

Napi::Value setGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = unwrapTensor(env, info[0], "setGrad");
  if (info[1].IsNull() || info[1].IsUndefined()) {
    t.mutable_grad().reset();
  } else {
    at::Tensor& g = unwrapTensor(env, info[1], "setGrad");
    guarded(env, "setGrad", [&]() {
      TORCH_CHECK(g.sizes() == t.sizes(), "gradient shape ", g.sizes(), " does not match tensor shape ", t.sizes());
      t.mutable_grad() = g;
    });
  }
  return env.Undefined();
}

// Two handles name the same tensor (same TensorImpl).
Napi::Value isSame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Napi::Boolean::New(env, unwrapTensor(env, info[0], "isSame").is_same(unwrapTensor(env, info[1], "isSame")));
}

// Replaces the data (and possibly dtype/device) behind a tensor while keeping
// its identity, like PyTorch's `param.data = new`: Module.to() relies on it so
// that optimizers holding the parameter keep working.
Napi::Value setData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = unwrapTensor(env, info[0], "setData");
  at::Tensor& src = unwrapTensor(env, info[1], "setData");
  guarded(env, "setData", [&]() { t.set_data(src); });
  return env.Undefined();
}

// The autograd version counter: bumped by every in-place change, which lets
// caches of derived tensors (parametrized weights) notice updates.
Napi::Value version(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(unwrapTensor(info.Env(), info[0], "version")._version()));
}

Napi::Value liveTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(gLiveTensors.load()));
}

Napi::Value toStringOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = unwrapTensor(env, info[0], "toString");
  return guarded(env, "toString", [&]() {
    std::ostringstream out;
    out << t;
    return Napi::String::New(env, out.str());
  });
}

}  // namespace

at::ScalarType scalarTypeFromCode(Napi::Env env, int code) {
  if (code < 0 || code >= static_cast<int>(at::ScalarType::NumOptions))
    throw Napi::TypeError::New(env, "unknown dtype code " + std::to_string(code));
  return static_cast<at::ScalarType>(code);
}

int64_t liveTensorCount() { return gLiveTensors.load(); }

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor) {
  auto* box = new TensorBox();
  box->tensor = std::move(tensor);
  gLiveTensors++;
  auto external = Napi::External<TensorBox>::New(env, box, [](Napi::Env env, TensorBox* b) {
    releaseBox(env, b);
    delete b;
  });
  napi_type_tag_object(env, external, &kTensorTag);
  return external;
}

TensorBox* boxOf(Napi::Env env, const Napi::Value& value) {
  if (!value.IsExternal()) return nullptr;
  bool tagged = false;
  napi_check_object_type_tag(env, value, &kTensorTag, &tagged);
  if (!tagged) return nullptr;
  return value.As<Napi::External<TensorBox>>().Data();
}

bool isTensorHandle(Napi::Env env, const Napi::Value& value) { return boxOf(env, value) != nullptr; }

at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& value, const char* what) {
  TensorBox* box = boxOf(env, value);
  if (!box) throw Napi::TypeError::New(env, std::string(what) + ": expected a Tensor");
  if (!box->tensor.defined())
    throw Napi::Error::New(env, std::string(what) + ": the tensor has been disposed and can no longer be used");
  return box->tensor;
}

void registerTensorFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBuffer", Napi::Function::New(env, fromBuffer));
  exports.Set("toBuffer", Napi::Function::New(env, toBuffer));
  exports.Set("dispose", Napi::Function::New(env, dispose));
  exports.Set("accountExternal", Napi::Function::New(env, accountExternal));
  exports.Set("isDisposed", Napi::Function::New(env, isDisposed));
  exports.Set("shape", Napi::Function::New(env, shape));
  exports.Set("strides", Napi::Function::New(env, strides));
  exports.Set("dtype", Napi::Function::New(env, dtype));
  exports.Set("device", Napi::Function::New(env, device));
  exports.Set("numel", Napi::Function::New(env, numel));
  exports.Set("dim", Napi::Function::New(env, dim));
  exports.Set("isContiguous", Napi::Function::New(env, isContiguous));
  exports.Set("requiresGrad", Napi::Function::New(env, requiresGrad));
  exports.Set("setRequiresGrad", Napi::Function::New(env, setRequiresGrad));
  exports.Set("isLeaf", Napi::Function::New(env, isLeaf));
  exports.Set("grad", Napi::Function::New(env, gradOf));
  exports.Set("setGrad", Napi::Function::New(env, setGrad));
  exports.Set("isSame", Napi::Function::New(env, isSame));
  exports.Set("setData", Napi::Function::New(env, setData));
  exports.Set("version", Napi::Function::New(env, version));
  exports.Set("liveTensors", Napi::Function::New(env, liveTensors));
  exports.Set("toString", Napi::Function::New(env, toStringOf));
}

}  // namespace ortho
