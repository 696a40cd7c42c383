// torch.linalg: decompositions and norms, differentiable where PyTorch's are.
import { aten } from './dispatch.js';
import { Tensor } from './tensor.js';

export function qr(a: Tensor, mode: 'reduced' | 'complete' | 'r' = 'reduced'): { Q: Tensor; R: Tensor } {
  const [Q, R] = aten('linalg_qr', a, mode);
  return { Q, R };
}

/** Lower (or upper) Cholesky factor; throws when the matrix is not positive-definite. */
export function cholesky(a: Tensor, options: { upper?: boolean } = {}): Tensor {
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
  const [U, S, Vh] = aten('linalg_svd', a, options.fullMatrices ?? true);
  return { U, S, Vh };
}

export const svdvals = (a: Tensor): Tensor => aten('linalg_svdvals', a);
export const eigvalsh = (a: Tensor, uplo: 'L' | 'U' = 'L'): Tensor => aten('linalg_eigvalsh', a, uplo);
export function eigh(a: Tensor, uplo: 'L' | 'U' = 'L'): { eigenvalues: Tensor; eigenvectors: Tensor } {
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
