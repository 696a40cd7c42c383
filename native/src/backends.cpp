// The global switches of torch.backends and torch.set_float32_matmul_precision:
// libtorch keeps them in its Context, on CPU builds too (cuDNN and cuBLAS read
// them when a CUDA build runs on a GPU).
#include "common.h"

#include <ATen/Context.h>

namespace ortho {
namespace {

const char* precisionName(at::Float32MatmulPrecision p) {
  switch (p) {
    case at::Float32MatmulPrecision::HIGHEST: return "highest";
    case at::Float32MatmulPrecision::HIGH: return "high";
    case at::Float32MatmulPrecision::MEDIUM: return "medium";
  }
  return "highest";
}

Napi::Value backendFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Context& ctx = at::globalContext();
  Napi::Object out = Napi::Object::New(env);
  out.Set("cudnnBenchmark", ctx.benchmarkCuDNN());
  out.Set("cudnnDeterministic", ctx.deterministicCuDNN());
  out.Set("cudnnAllowTF32", ctx.allowTF32CuDNN());
  out.Set("cudaMatmulAllowTF32", ctx.allowTF32CuBLAS());
  out.Set("float32MatmulPrecision", precisionName(ctx.float32MatmulPrecision()));
  out.Set("deterministicAlgorithms", ctx.deterministicAlgorithms());
  out.Set("deterministicAlgorithmsWarnOnly", ctx.deterministicAlgorithmsWarnOnly());
  return out;
}

bool boolArg(const Napi::CallbackInfo& info, size_t i, const std::string& what) {
  if (!info[i].IsBoolean()) throw Napi::TypeError::New(info.Env(), what + " must be true or false");
  return info[i].As<Napi::Boolean>().Value();
}

// setBackendFlag(name, value[, warnOnly])
Napi::Value setBackendFlag(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "setBackendFlag: expected a flag name");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  at::Context& ctx = at::globalContext();
  guarded(env, "setBackendFlag", [&]() {
    if (name == "cudnnBenchmark") ctx.setBenchmarkCuDNN(boolArg(info, 1, name));
    else if (name == "cudnnDeterministic") ctx.setDeterministicCuDNN(boolArg(info, 1, name));
    else if (name == "cudnnAllowTF32") ctx.setAllowTF32CuDNN(boolArg(info, 1, name));
    else if (name == "cudaMatmulAllowTF32") ctx.setAllowTF32CuBLAS(boolArg(info, 1, name));
    else if (name == "deterministicAlgorithms") ctx.setDeterministicAlgorithms(boolArg(info, 1, name), boolArg(info, 2, "warnOnly"));
    else if (name == "float32MatmulPrecision") {
      if (!info[1].IsString()) throw Napi::TypeError::New(env, "float32MatmulPrecision must be a string");
      const std::string p = info[1].As<Napi::String>().Utf8Value();
      if (p != "highest" && p != "high" && p != "medium")
        throw Napi::TypeError::New(env, "float32 matmul precision must be 'highest', 'high' or 'medium', got '" + p + "'");
      ctx.setFloat32MatmulPrecision(p);
    } else {
      throw Napi::TypeError::New(env, "setBackendFlag: unknown flag '" + name + "'");
    }
  });
  return env.Undefined();
}

}  // namespace

void registerBackends(Napi::Env env, Napi::Object exports) {
  exports.Set("backendFlags", Napi::Function::New(env, backendFlags));
  exports.Set("setBackendFlag", Napi::Function::New(env, setBackendFlag));
}

}  // namespace ortho
