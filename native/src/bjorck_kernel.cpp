// Björck orthogonalization as one autograd node with a hand-written backward.
//
// For wide X (m ≤ n; tall inputs are transposed first, the iteration commutes
// with transposition), each of the K steps is
//   A = X Xᵀ,   X' = (1 + β) X − β A X          (one addmm)
// and, for an incoming gradient G of X', the gradient of X is
//   (1 + β) G − β (A G + S X),   S = G Xᵀ + X Gᵀ  (symmetric)
// Per step that is 5 matrix products of m²n against autograd's 6, with the
// scaling fused into addmm. More importantly, the products are split by rows
// over libtorch's intra-op threads: BLAS runs single-threaded here (its own
// threads would fight libtorch's), so an unsplit product uses one core.
#include "common.h"

#include <ATen/Parallel.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <vector>

namespace ortho {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Below this many multiply-adds per matrix, ATen's batched kernel is faster
// than one BLAS call per matrix (BCOP's 4×2 blocks, power iterations).
constexpr int64_t kSplitMinWork = 1 << 18;

// Calls chunk(b, firstRow, rowCount) for row blocks of every matrix in the
// batch, spread over the intra-op threads.
template <typename F>
void forEachRowChunk(int64_t batch, int64_t rows, F chunk) {
  int64_t threads = at::get_num_threads();
  int64_t chunksPerMatrix = std::max<int64_t>(1, std::min<int64_t>(rows / 32, (threads + batch - 1) / batch));
  int64_t chunkRows = (rows + chunksPerMatrix - 1) / chunksPerMatrix;
  at::parallel_for(0, batch * chunksPerMatrix, 1, [&](int64_t begin, int64_t end) {
    at::NoGradGuard noGrad;  // worker threads start with grad mode on
    for (int64_t unit = begin; unit < end; unit++) {
      int64_t firstRow = (unit % chunksPerMatrix) * chunkRows;
      int64_t rowCount = std::min(chunkRows, rows - firstRow);
      if (rowCount > 0) chunk(unit / chunksPerMatrix, firstRow, rowCount);
    }
  });
}

bool worthSplitting(const at::Tensor& a, const at::Tensor& c) { return a.size(1) * a.size(2) * c.size(2) >= kSplitMinWork; }

// a[b] @ c[b] for 3-d tensors.
at::Tensor bmmParallel(const at::Tensor& a, const at::Tensor& c) {
  if (!worthSplitting(a, c)) return at::bmm(a, c);
  at::Tensor out = at::empty({a.size(0), a.size(1), c.size(2)}, a.options());
  forEachRowChunk(a.size(0), a.size(1), [&](int64_t b, int64_t r0, int64_t n) {
    at::Tensor o = out.select(0, b).narrow(0, r0, n);
    at::mm_out(o, a.select(0, b).narrow(0, r0, n), c.select(0, b));
  });
  return out;
}

// beta·bias[b] + alpha·(a[b] @ c[b]) for 3-d tensors.
at::Tensor baddbmmParallel(const at::Tensor& bias, const at::Tensor& a, const at::Tensor& c, double beta, double alpha) {
  if (!worthSplitting(a, c)) return at::baddbmm(bias, a, c, beta, alpha);
  at::Tensor out = at::empty({a.size(0), a.size(1), c.size(2)}, a.options());
  forEachRowChunk(a.size(0), a.size(1), [&](int64_t b, int64_t r0, int64_t n) {
    at::Tensor o = out.select(0, b).narrow(0, r0, n);
    at::addmm_out(o, bias.select(0, b).narrow(0, r0, n), a.select(0, b).narrow(0, r0, n), c.select(0, b), beta, alpha);
  });
  return out;
}

struct BjorckFunction : public torch::autograd::Function<BjorckFunction> {
  // x: [batch, m, n] with m ≤ n, contiguous.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, double beta, int64_t iterations) {
    std::vector<at::Tensor> saved;
    at::Tensor current = x;
    for (int64_t k = 0; k < iterations; k++) {
      at::Tensor gram = bmmParallel(current, current.transpose(1, 2));
      saved.push_back(current);
      saved.push_back(gram);
      current = baddbmmParallel(current, gram, current, 1.0 + beta, -beta);
    }
    ctx->saved_data["beta"] = beta;
    ctx->save_for_backward(saved);
    return current;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    TORCH_CHECK(!at::GradMode::is_enabled(),
                "the fused Björck orthogonalization is differentiable once; for higher-order gradients use "
                "BatchedBjorckOrthogonalization with { fused: false }");
    double beta = ctx->saved_data["beta"].toDouble();
    auto saved = ctx->get_saved_variables();
    at::Tensor g = grads[0].contiguous();
    for (int64_t k = static_cast<int64_t>(saved.size()) / 2 - 1; k >= 0; k--) {
      const at::Tensor& x = saved[2 * k];
      const at::Tensor& gram = saved[2 * k + 1];
      at::Tensor gxt = bmmParallel(g, x.transpose(1, 2));
      at::Tensor symmetric = gxt + gxt.transpose(1, 2);
      at::Tensor partial = baddbmmParallel(g, gram, g, 1.0 + beta, -beta);
      g = baddbmmParallel(partial, symmetric, x, 1.0, -beta);
    }
    return {g, at::Tensor(), at::Tensor()};
  }
};

// bjorck(w, beta, iterations) for w [..., m, n] on CPU in float32/float64.
Napi::Value bjorck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& w = unwrapTensor(env, info[0], "bjorck");
  double beta = info[1].As<Napi::Number>().DoubleValue();
  int64_t iterations = info[2].As<Napi::Number>().Int64Value();
  return guarded(env, "bjorck", [&]() {
    TORCH_CHECK(w.dim() >= 2, "expected a matrix or a batch of matrices, got ", w.dim(), " dimensions");
    TORCH_CHECK(w.device().is_cpu(), "the fused Björck kernel runs on CPU tensors, got ", w.device());
    TORCH_CHECK(w.scalar_type() == at::kFloat || w.scalar_type() == at::kDouble,
                "the fused Björck kernel takes float32 or float64, got ", w.scalar_type());
    TORCH_CHECK(iterations >= 0, "iterations must be non-negative, got ", iterations);
    if (iterations == 0 || w.numel() == 0) return wrapTensor(env, w.alias());  // nothing to orthogonalize
    // Orthogonalization stays in the weights' precision under autocast.
    c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::DispatchKey::AutocastCPU);
    bool tall = w.size(-2) > w.size(-1);
    at::Tensor wide = tall ? w.transpose(-2, -1) : w;
    auto batchShape = wide.sizes().slice(0, wide.dim() - 2);
    at::Tensor flat = wide.reshape({-1, wide.size(-2), wide.size(-1)}).contiguous();
    at::Tensor result = BjorckFunction::apply(flat, beta, iterations);
    std::vector<int64_t> shape(batchShape.begin(), batchShape.end());
    shape.push_back(wide.size(-2));
    shape.push_back(wide.size(-1));
    result = result.view(shape);
    return wrapTensor(env, tall ? result.transpose(-2, -1) : result);
  });
}

}  // namespace

void registerBjorckKernel(Napi::Env env, Napi::Object exports) {
  exports.Set("bjorck", Napi::Function::New(env, bjorck));
}

}  // namespace ortho
