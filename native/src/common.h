// Shared pieces of the addon: the tensor handle carried by JS objects and the
// translation of libtorch errors into JS errors.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <memory>
#include <string>

namespace ortho {

// A JS tensor owns one TensorBox through a Napi::External. Disposing resets the
// tensor early; the finalizer is only the safety net for forgotten tensors.
struct TensorBox {
  at::Tensor tensor;
  int64_t accountedBytes = 0;
};

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor);
// Throws a JS TypeError when `value` is not a live tensor handle.
at::Tensor& unwrapTensor(Napi::Env env, const Napi::Value& value, const char* what);
bool isTensorHandle(Napi::Env env, const Napi::Value& value);
TensorBox* boxOf(Napi::Env env, const Napi::Value& value);
int64_t liveTensorCount();

// Runs `body`, converting C++ exceptions into JS exceptions whose message
// starts with `context` (usually the op name).
template <typename F>
auto guarded(Napi::Env env, const std::string& context, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::IndexError& e) {
    throw Napi::RangeError::New(env, context + ": " + e.what_without_backtrace());
  } catch (const c10::TypeError& e) {
    throw Napi::TypeError::New(env, context + ": " + e.what_without_backtrace());
  } catch (const c10::ValueError& e) {
    throw Napi::TypeError::New(env, context + ": " + e.what_without_backtrace());
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, context + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, context + ": " + e.what());
  }
}

// A JS handle that owns `box`: the finalizer runs `Release` then deletes it.
// The type tag keeps one kind of handle from being taken for another.
template <typename T, void (*Release)(T*)>
Napi::Value wrapTagged(Napi::Env env, std::unique_ptr<T> box, const napi_type_tag& tag) {
  auto external = Napi::External<T>::New(env, box.release(), [](Napi::Env, T* p) {
    Release(p);
    delete p;
  });
  napi_type_tag_object(env, external, &tag);
  return external;
}

// The object behind a handle made by wrapTagged with `tag`, or nullptr for any other value.
template <typename T>
T* taggedData(Napi::Env env, const Napi::Value& value, const napi_type_tag& tag) {
  bool tagged = false;
  if (value.IsExternal()) napi_check_object_type_tag(env, value, &tag, &tagged);
  return tagged ? value.As<Napi::External<T>>().Data() : nullptr;
}

at::ScalarType scalarTypeFromCode(Napi::Env env, int code);

void registerTensorFunctions(Napi::Env env, Napi::Object exports);
void registerDispatch(Napi::Env env, Napi::Object exports);
void registerAutograd(Napi::Env env, Napi::Object exports);
void registerSerialization(Napi::Env env, Napi::Object exports);
void registerRuntime(Napi::Env env, Napi::Object exports);
void registerLinalgKernels(Napi::Env env, Napi::Object exports);
void registerDistributed(Napi::Env env, Napi::Object exports);
// True when the addon was built with NCCL (a CUDA libtorch and nccl.h at build time: ORTHO_WITH_NCCL).
bool ncclBuiltIn();
void registerCpuAllocator(Napi::Env env, Napi::Object exports);
void registerProfiler(Napi::Env env, Napi::Object exports);
void registerBackends(Napi::Env env, Napi::Object exports);
void registerActivationKernels(Napi::Env env, Napi::Object exports);
void registerBjorckKernel(Napi::Env env, Napi::Object exports);
void registerGroupedConvKernel(Napi::Env env, Napi::Object exports);

}  // namespace ortho
