// Entry point of the native addon: each file registers its own functions.
#include "common.h"
#include "distributed.h"

static Napi::Object initAddon(Napi::Env env, Napi::Object exports) {
  ortho::registerCpuAllocator(env, exports);  // first: before any tensor is allocated
  ortho::registerTensorFunctions(env, exports);
  ortho::registerDispatch(env, exports);
  ortho::registerAutograd(env, exports);
  ortho::registerSerialization(env, exports);
  ortho::registerRuntime(env, exports);
  ortho::registerLinalgKernels(env, exports);
  ortho::registerActivationKernels(env, exports);
  ortho::registerBjorckKernel(env, exports);
  ortho::registerGroupedConvKernel(env, exports);
  ortho::registerDistributed(env, exports);
  ortho::registerReducer(env, exports);
  ortho::registerProfiler(env, exports);
  ortho::registerBackends(env, exports);
  return exports;
}

NODE_API_MODULE(orthogonium_native, initAddon)
