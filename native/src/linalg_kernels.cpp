// Linear-algebra kernels whose backward is written by hand rather than
// derived by autograd. Cholesky orthogonalization, W = L⁻¹X with
// L = chol(XXᵀ + εI), gives rows of W that are orthonormal; its gradient is
// computed from saved factors in two equivalent forms: through W (cheaper)
// or through X with a second triangular solve (more stable in float32).
#include "common.h"

#include <torch/csrc/autograd/custom_function.h>

namespace ortho {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kCholeskyEps = 1e-5;

struct CholeskyOrthogonalize : public torch::autograd::Function<CholeskyOrthogonalize> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, bool stable) {
    at::Tensor gram = at::matmul(x, x.mT());
    gram = gram + kCholeskyEps * at::eye(gram.size(-1), gram.options());
    at::Tensor l = at::linalg_cholesky(gram);
    at::Tensor w = at::linalg_solve_triangular(l, x, /*upper=*/false);
    ctx->saved_data["stable"] = stable;
    ctx->save_for_backward({x, w, l});
    return w;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& w = saved[1];
    const at::Tensor& l = saved[2];
    bool stable = ctx->saved_data["stable"].toBool();
    at::Tensor lt = l.mT().contiguous();
    // Gradient with respect to the right-hand side of W = L⁻¹X.
    at::Tensor gradRhs = at::linalg_solve_triangular(lt, grads[0], /*upper=*/true);
    // Gradient with respect to L, then to the Gram matrix S = LLᵀ (kept symmetric).
    at::Tensor gradL = (-at::matmul(gradRhs, w.mT())).tril();
    at::Tensor gradS = at::matmul(lt, gradL).tril();
    gradS = gradS + gradS.tril(-1).mT();
    gradS = at::linalg_solve_triangular(lt, gradS, /*upper=*/true);
    at::Tensor gradX;
    if (stable) {
      gradS = at::linalg_solve_triangular(l, gradS, /*upper=*/false, /*left=*/false);
      gradX = at::matmul(gradS, x) + gradRhs;
    } else {
      gradX = at::matmul(gradS, w) + gradRhs;
    }
    return {gradX, at::Tensor()};
  }
};

// choleskyOrthogonalize(x, stable) for x [..., m, n] with m <= n.
Napi::Value choleskyOrthogonalize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& x = unwrapTensor(env, info[0], "choleskyOrthogonalize");
  bool stable = info[1].ToBoolean();
  return guarded(env, "choleskyOrthogonalize", [&]() {
    TORCH_CHECK(x.dim() >= 2, "expected a matrix or a batch of matrices, got ", x.dim(), " dimensions");
    TORCH_CHECK(x.size(-2) <= x.size(-1), "expected at most as many rows as columns, got shape ", x.sizes());
    return wrapTensor(env, CholeskyOrthogonalize::apply(x, stable));
  });
}

}  // namespace

void registerLinalgKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("choleskyOrthogonalize", Napi::Function::New(env, choleskyOrthogonalize));
}

}  // namespace ortho
