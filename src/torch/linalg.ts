// torch.linalg: decompositions and norms, differentiable where PyTorch's are.
import { aten } from './dispatch.js';
import { native } from './native.js';
import { Tensor } from './tensor.js';

// LAPACK's QR, Cholesky and symmetric eigen drivers do not report NaN or
// infinite input: they return NaN factors (or, for eigh, plausible-looking
// wrong values; LAPACK's SVD reports NaN but not infinities). Reject such
// input with a clear error instead. The check is O(n²) next to the O(n³)
// decompositions.
function checkFinite(a: Tensor, op: string): void {
  const finite = aten('isfinite', a) as Tensor;
  const all = aten('all', finite) as Tensor;
  finite.dispose();
  const ok = all.item() !== 0;
  all.dispose();
  if (!ok) throw new Error(`${op}: the input matrix contains NaN or infinite values`);
}

export function qr(a: Tensor, mode: 'reduced' | 'complete' | 'r' = 'reduced'): { Q: Tensor; R: Tensor } {
  checkFinite(a, 'linalg.qr');
  const [Q, R] = aten('linalg_qr', a, mode);
  return { Q, R };
}

/** Lower (or upper) Cholesky factor; throws when the matrix is not positive-definite. */
export function cholesky(a: Tensor, options: { upper?: boolean } = {}): Tensor {
  checkFinite(a, 'linalg.cholesky');
  const [L, info] = aten('linalg_cholesky_ex', a, options.upper ?? false, true);
  info.dispose();
  return L;
}

export function solveTriangular(a: Tensor, b: Tensor, options: { upper: boolean; left?: boolean; unitriangular?: boolean }): Tensor {
  return aten('linalg_solve_triangular', a, b, options.upper, options.left ?? true, options.unitriangular ?? false);
}

export const solve = (a: Tensor, b: Tensor): Tensor => aten('linalg_solve', a, b, true);
export const inv = (a: Tensor): Tensor => aten('linalg_inv', a);

export function svd(a: Tensor, options: { fullMatrices?: boolean } = {}): { U: Tensor; S: Tensor; Vh: Tensor } {
  checkFinite(a, 'linalg.svd');
  const [U, S, Vh] = aten('linalg_svd', a, options.fullMatrices ?? true);
  return { U, S, Vh };
}

export function svdvals(a: Tensor): Tensor {
  checkFinite(a, 'linalg.svdvals');
  return aten('linalg_svdvals', a);
}
export function eigvalsh(a: Tensor, uplo: 'L' | 'U' = 'L'): Tensor {
  checkFinite(a, 'linalg.eigvalsh');
  return aten('linalg_eigvalsh', a, uplo);
}
export function eigh(a: Tensor, uplo: 'L' | 'U' = 'L'): { eigenvalues: Tensor; eigenvectors: Tensor } {
  checkFinite(a, 'linalg.eigh');
  const [eigenvalues, eigenvectors] = aten('linalg_eigh', a, uplo);
  return { eigenvalues, eigenvectors };
}
export const matrixExp = (a: Tensor): Tensor => aten('linalg_matrix_exp', a);
export const det = (a: Tensor): Tensor => aten('linalg_det', a);

export function vectorNorm(x: Tensor, ord = 2, dim?: number | number[], keepdim = false): Tensor {
  return aten('linalg_vector_norm', x, ord, dim === undefined ? undefined : Array.isArray(dim) ? dim : [dim], keepdim);
}

/** Matrix norm over the last two dims: 'fro', 'nuc', or a number (2, -2, 1, -1, Infinity, -Infinity). */
export function matrixNorm(x: Tensor, ord: 'fro' | 'nuc' | number = 'fro', dim: [number, number] = [-2, -1], keepdim = false): Tensor {
  return typeof ord === 'string' ? aten('linalg_matrix_norm.str_ord', x, ord, dim, keepdim) : aten('linalg_matrix_norm', x, ord, dim, keepdim);
}

/**
 * Rows made orthonormal by Cholesky: W = L⁻¹X with L = chol(XXᵀ + 1e-5·I), for
 * X [..., m, n] with m ≤ n. The backward is hand-written (in the addon); the
 * stable form goes through X with one more triangular solve.
 */
export function choleskyOrthogonalize(x: Tensor, options: { stable?: boolean } = {}): Tensor {
  return Tensor._wrap(native.choleskyOrthogonalize(x.handle, options.stable ?? false));
}

/**
 * Björck orthogonalization of x [..., m, n] (CPU, float32/float64): `iterations`
 * steps of x ← (1 + β)x − β·x xᵀx, as one autograd node whose backward is
 * written by hand and whose matrix products use every intra-op thread. The
 * gradient is that of the unrolled iteration; it is differentiable once.
 */
export function bjorckOrthogonalize(x: Tensor, options: { beta?: number; iterations?: number } = {}): Tensor {
  return Tensor._wrap(native.bjorck(x.handle, options.beta ?? 0.5, options.iterations ?? 12));
}
