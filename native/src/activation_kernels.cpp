// Fused MaxMin: splits a dimension into halves a, b and writes
// [max(a, b), min(a, b)] in one pass over memory, where the composite
// version (split, maximum, minimum, cat) reads the input twice and writes
// three full-size tensors. Backward routes each incoming gradient to the
// element that won; ties share it equally, as torch.maximum/minimum do.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/Dispatch.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <limits>
#include <optional>

namespace ortho {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// In memory, the tensor is `outer` rows of [first half | second half], each
// half `half` contiguous elements: element j of the first half pairs with
// element j of the second.
struct PairLayout {
  int64_t outer;
  int64_t half;
};

// Works for any dense layout (NCHW, channels-last, ...) in which the dimension
// varies slower than every dimension laid out inside it; nullopt otherwise.
std::optional<PairLayout> pairLayout(const at::Tensor& x, int64_t dim) {
  if (!x.is_non_overlapping_and_dense()) return std::nullopt;
  int64_t size = x.size(dim);
  int64_t stride = x.stride(dim);
  int64_t inner = 1;
  for (int64_t d = 0; d < x.dim(); d++) {
    if (d != dim && x.size(d) > 1 && x.stride(d) < stride) inner *= x.size(d);
  }
  if (inner != stride) return std::nullopt;
  return PairLayout{x.numel() / (size * inner), size / 2 * inner};
}

// Rows per parallel task: about 32K pairs, so that small tensors stay on one thread.
int64_t rowGrain(PairLayout layout) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, layout.half)); }

template <typename T>
void maxMinForward(const T* in, T* out, PairLayout layout) {
  at::parallel_for(0, layout.outer, rowGrain(layout), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; row++) {
      const T* a = in + row * 2 * layout.half;
      const T* b = a + layout.half;
      T* hi = out + row * 2 * layout.half;
      T* lo = hi + layout.half;
      for (int64_t j = 0; j < layout.half; j++) {
        T x = a[j], y = b[j];
        bool nan = x != x || y != y;  // NaN propagates to both outputs, as in torch.maximum
        hi[j] = nan ? x + y : (x > y ? x : y);
        lo[j] = nan ? x + y : (x < y ? x : y);
      }
    }
  });
}

template <typename T>
void maxMinBackward(const T* in, const T* grad, T* gradIn, PairLayout layout) {
  at::parallel_for(0, layout.outer, rowGrain(layout), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; row++) {
      int64_t offset = row * 2 * layout.half;
      const T* a = in + offset;
      const T* b = a + layout.half;
      const T* gHi = grad + offset;
      const T* gLo = gHi + layout.half;
      T* gA = gradIn + offset;
      T* gB = gA + layout.half;
      for (int64_t j = 0; j < layout.half; j++) {
        T x = a[j], y = b[j], gh = gHi[j], gl = gLo[j];
        T shared = (gh + gl) / T(2);
        gA[j] = x > y ? gh : (x < y ? gl : shared);
        gB[j] = x > y ? gl : (x < y ? gh : shared);
      }
    }
  });
}

// Same strides as `like` (empty_like keeps the layout of dense tensors).
at::Tensor sameLayout(const at::Tensor& t, const at::Tensor& like) {
  if (t.strides() == like.strides()) return t;
  return at::empty_like(like).copy_(t);
}

at::Tensor maxMinKernel(const at::Tensor& x, int64_t dim) {
  PairLayout layout = *pairLayout(x, dim);
  at::Tensor out = at::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES_AND(at::ScalarType::BFloat16, x.scalar_type(), "maxMin", [&] {
    maxMinForward<scalar_t>(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), layout);
  });
  return out;
}

// The same gradient from differentiable ops, for double backward (create_graph).
at::Tensor differentiableBackward(const at::Tensor& x, const at::Tensor& grad, int64_t dim) {
  auto halves = x.chunk(2, dim);
  auto g = grad.chunk(2, dim);
  at::Tensor aWins = halves[0] > halves[1];
  at::Tensor bWins = halves[0] < halves[1];
  at::Tensor shared = (g[0] + g[1]) / 2;
  at::Tensor gradA = at::where(aWins, g[0], at::where(bWins, g[1], shared));
  at::Tensor gradB = at::where(aWins, g[1], at::where(bWins, g[0], shared));
  return at::cat({gradA, gradB}, dim);
}

struct MaxMinFunction : public torch::autograd::Function<MaxMinFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t dim) {
    ctx->saved_data["dim"] = dim;
    ctx->save_for_backward({x});
    return maxMinKernel(x, dim);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    at::Tensor x = ctx->get_saved_variables()[0];
    int64_t dim = ctx->saved_data["dim"].toInt();
    if (at::GradMode::is_enabled()) return {differentiableBackward(x, grads[0], dim), at::Tensor()};
    at::Tensor grad = sameLayout(grads[0], x);
    at::Tensor gradIn = at::empty_like(x);
    PairLayout layout = *pairLayout(x, dim);
    AT_DISPATCH_FLOATING_TYPES_AND(at::ScalarType::BFloat16, x.scalar_type(), "maxMinBackward", [&] {
      maxMinBackward<scalar_t>(x.data_ptr<scalar_t>(), grad.data_ptr<scalar_t>(), gradIn.data_ptr<scalar_t>(), layout);
    });
    return {gradIn, at::Tensor()};
  }
};

// maxMin(x, dim): the fused activation on CPU floating tensors; a layout the
// kernel cannot walk is made contiguous first.
Napi::Value maxMin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& input = unwrapTensor(env, info[0], "maxMin");
  int64_t dim = info[1].As<Napi::Number>().Int64Value();
  return guarded(env, "maxMin", [&]() {
    TORCH_CHECK(input.device().is_cpu(), "the fused kernel runs on CPU tensors, got ", input.device());
    TORCH_CHECK(dim >= -input.dim() && dim < input.dim(), "dimension ", dim, " out of range for a ", input.dim(), "-d tensor");
    if (dim < 0) dim += input.dim();
    TORCH_CHECK(input.size(dim) % 2 == 0, "dimension ", dim, " must have an even size, got ", input.size(dim));
    at::Tensor x = pairLayout(input, dim) ? input : input.contiguous();
    return wrapTensor(env, MaxMinFunction::apply(x, dim));
  });
}

}  // namespace

void registerActivationKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("maxMin", Napi::Function::New(env, maxMin));
}

}  // namespace ortho
