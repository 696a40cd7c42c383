// Process-wide settings: threads, seeds and RNG state, BLAS and allocator
// tuning, build and hardware facts for `orthogonium doctor`, and a pure C++
// convolution loop that benchmarks compare the binding against.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <malloc.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace ortho {
namespace {

using OpenblasSetThreads = void (*)(int);
using OpenblasConfig = char* (*)();

void* blasSymbol(const char* name) { return dlsym(RTLD_DEFAULT, name); }

void setBlasThreads(int n) {
  if (auto fn = reinterpret_cast<OpenblasSetThreads>(blasSymbol("openblas_set_num_threads"))) fn(n);
}

Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(env, "setNumThreads: the thread count must be at least 1");
  guarded(env, "setNumThreads", [&]() { at::set_num_threads(n); });
  return env.Undefined();
}

Napi::Value getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value manualSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double seed = info[0].As<Napi::Number>().DoubleValue();
  if (seed < 0 || seed != static_cast<double>(static_cast<uint64_t>(seed)))
    throw Napi::RangeError::New(env, "manualSeed: the seed must be a non-negative integer");
  at::manual_seed(static_cast<uint64_t>(seed));
  return env.Undefined();
}

// The CPU generator's full state as a uint8 tensor, restorable with setRngState.
Napi::Value getRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "getRngState", [&]() {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return wrapTensor(env, at::Tensor(gen.get_state()));
  });
}

Napi::Value setRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& state = unwrapTensor(env, info[0], "setRngState");
  guarded(env, "setRngState", [&]() {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    TORCH_CHECK(state.scalar_type() == at::kByte && state.dim() == 1, "the RNG state must be a 1-D uint8 tensor"); gen.set_state(state);
  });
  return env.Undefined();
}

Napi::Value buildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("torchVersion", TORCH_VERSION);
  out.Set("config", at::show_config());
  out.Set("parallelInfo", at::get_parallel_info());
  auto config = reinterpret_cast<OpenblasConfig>(blasSymbol("openblas_get_config"));
  auto core = reinterpret_cast<OpenblasConfig>(blasSymbol("openblas_get_corename"));
  out.Set("openblas", config ? Napi::Value(Napi::String::New(env, config())) : env.Null());
  out.Set("openblasCore", core ? Napi::Value(Napi::String::New(env, core())) : env.Null());
  // libtorch_cuda registers CUDA's device guard when it loads: a CUDA build, whether or not a GPU is visible.
  out.Set("cudaBuild", c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA));
  out.Set("cudaAvailable", at::detail::getCUDAHooks().hasCUDA());
  out.Set("cudaDeviceCount", at::detail::getCUDAHooks().hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0);
  out.Set("ncclAvailable", ncclBuiltIn());
  __builtin_cpu_init();
  out.Set("avx2", static_cast<bool>(__builtin_cpu_supports("avx2")));
  out.Set("avx512f", static_cast<bool>(__builtin_cpu_supports("avx512f")));
  out.Set("avx512bf16", static_cast<bool>(__builtin_cpu_supports("avx512bf16")));
  out.Set("hardwareThreads", static_cast<double>(std::thread::hardware_concurrency()));
  return out;
}

// The current CUDA device of this thread (torch.cuda.set_device / current_device),
// through the device-guard interface that libtorch_cuda registers: no CUDA headers needed.
void checkCudaDevice(int index) {
  TORCH_CHECK(at::detail::getCUDAHooks().hasCUDA(), "CUDA is not available: ",
              c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA) ? "this CUDA libtorch sees no GPU (driver or device missing)"
                                                                   : "the addon was built against a CPU-only libtorch");
  int count = at::detail::getCUDAHooks().getNumGPUs();
  TORCH_CHECK(index >= 0 && index < count, "device index must be in [0, ", count - 1, "], got ", index);
}

Napi::Value cudaSetDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "cuda.setDevice: expected a device index");
  int index = info[0].As<Napi::Number>().Int32Value();
  guarded(env, "cuda.setDevice", [&]() {
    checkCudaDevice(index);
    c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->setDevice(c10::Device(c10::DeviceType::CUDA, index));
  });
  return env.Undefined();
}

Napi::Value cudaCurrentDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "cuda.currentDevice", [&]() {
    checkCudaDevice(0);
    return Napi::Number::New(env, c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->getDevice().index());
  });
}

// Waits for every kernel queued on a GPU (torch.cuda.synchronize): timing, and host reads of device results.
Napi::Value cudaSynchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  guarded(env, "cuda.synchronize", [&]() {
    checkCudaDevice(0);  // CUDA at all, before asking for the current device
    int index = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value()
                                   : c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->getDevice().index();
    checkCudaDevice(index);
    at::detail::getCUDAHooks().deviceSynchronize(static_cast<c10::DeviceIndex>(index));
  });
  return env.Undefined();
}

// benchConv(inputShape, weightShape, stride, padding, groups, iterations, withBackward)
// -> seconds per iteration, measured entirely in C++ on the same libtorch.
Napi::Value benchConv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto toShape = [&](const Napi::Value& v) {
    Napi::Array a = v.As<Napi::Array>();
    std::vector<int64_t> s(a.Length());
    for (uint32_t i = 0; i < a.Length(); i++) s[i] = a.Get(i).As<Napi::Number>().Int64Value();
    return s;
  };
  auto xShape = toShape(info[0]);
  auto wShape = toShape(info[1]);
  int64_t stride = info[2].As<Napi::Number>().Int64Value();
  int64_t padding = info[3].As<Napi::Number>().Int64Value();
  int64_t groups = info[4].As<Napi::Number>().Int64Value();
  int iterations = info[5].As<Napi::Number>().Int32Value();
  bool withBackward = info[6].ToBoolean();
  return guarded(env, "benchConv", [&]() {
    at::Tensor x = at::randn(xShape).set_requires_grad(withBackward);
    at::Tensor w = at::randn(wShape).set_requires_grad(withBackward);
    auto step = [&]() {
      at::Tensor y = at::conv2d(x, w, {}, stride, padding, 1, groups);
      if (withBackward) {
        torch::autograd::backward({y.sum()});
        x.mutable_grad().reset();
        w.mutable_grad().reset();
      }
    };
    step();
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; i++) step();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return Napi::Number::New(env, seconds / iterations);
  });
}

// benchTinyAdd(iterations) -> seconds per at::add of two 1-element tensors in
// C++: libtorch's own floor, against which the JS dispatch overhead is judged.
Napi::Value benchTinyAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int iterations = info[0].As<Napi::Number>().Int32Value();
  return guarded(env, "benchTinyAdd", [&]() {
    at::Tensor x = at::ones({1});
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; i++) at::add(x, x);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return Napi::Number::New(env, seconds / iterations);
  });
}

// Keep freed memory in the process instead of returning it to the kernel
// each step: on this class of VM every first touch of a page is expensive.
void tuneMalloc() {
  if (std::getenv("ORTHOGONIUM_NO_MALLOC_TUNING")) return;
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  mallopt(M_TOP_PAD, 64 * 1024 * 1024);
}

// Debian's libtorch starts with one intra-op thread here; use every core
// unless the user said otherwise. OpenBLAS threads would compete with
// libtorch's own pool, so BLAS runs single-threaded inside each torch thread.
void defaultThreads() {
  if (!std::getenv("OMP_NUM_THREADS")) {
    unsigned cores = std::thread::hardware_concurrency();
    if (cores > 0) at::set_num_threads(static_cast<int>(cores));
  }
  if (!std::getenv("OPENBLAS_NUM_THREADS")) setBlasThreads(1);
}

}  // namespace

void registerRuntime(Napi::Env env, Napi::Object exports) {
  tuneMalloc();
  defaultThreads();
  exports.Set("setNumThreads", Napi::Function::New(env, setNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, getNumThreads));
  exports.Set("manualSeed", Napi::Function::New(env, manualSeed));
  exports.Set("getRngState", Napi::Function::New(env, getRngState));
  exports.Set("setRngState", Napi::Function::New(env, setRngState));
  exports.Set("buildInfo", Napi::Function::New(env, buildInfo));
  exports.Set("cudaSetDevice", Napi::Function::New(env, cudaSetDevice));
  exports.Set("cudaCurrentDevice", Napi::Function::New(env, cudaCurrentDevice));
  exports.Set("cudaSynchronize", Napi::Function::New(env, cudaSynchronize));
  exports.Set("benchConv", Napi::Function::New(env, benchConv));
  exports.Set("benchTinyAdd", Napi::Function::New(env, benchTinyAdd));
}

}  // namespace ortho
