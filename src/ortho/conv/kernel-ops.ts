// Algebra on convolution kernels: composing two kernels into the kernel of
// their composition (batched too), the 2×2 orthogonal building block of
// BCOP, and kernel transposition.
import { F, Tensor, einsum, eye, stack } from '../../torch/index.js';

/**
 * The kernel of "convolve with m1, then with m2": m1 [m, n, k1, k2], m2
 * [nb, m / groups, l1, l2] → [nb, n, k1 + l1 − 1, k2 + l2 − 1]. Computed as
 * one full convolution of the kernels themselves.
 */
export function composeKernels(m1: Tensor, m2: Tensor, groups = 1): Tensor {
  const [m] = m1.shape;
  const [, mb, l1, l2] = m2.shape;
  if (m !== mb * groups) throw new RangeError(`composeKernels: ${m} output channels cannot feed a kernel taking ${mb} × ${groups} groups`);
  const out = F.conv2d(m1.transpose(0, 1), m2.flip(-2, -1), { groups, padding: [l1 - 1, l2 - 1] });
  return out.transpose(0, 1);
}

/** composeKernels over a leading batch dim: m1 [b, m, n, k1, k2], m2 [b, nb, m / groups, l1, l2]. */
export function composeKernelsBatched(m1: Tensor, m2: Tensor, groups = 1): Tensor {
  const [b, m, n, k1, k2] = m1.shape;
  const [b2, nb, mb, l1, l2] = m2.shape;
  if (m !== mb * groups || b !== b2) throw new RangeError('composeKernelsBatched: kernel batches do not fit');
  const left = m1.reshape(b * m, n, k1, k2).transpose(0, 1);
  const right = m2.reshape(b * nb, mb, l1, l2).flip(-2, -1);
  const out = F.conv2d(left, right, { groups: groups * b, padding: [l1 - 1, l2 - 1] });
  return out.view(n, b, nb, k1 + l1 - 1, k2 + l2 - 1).permute(1, 2, 0, 3, 4);
}

/**
 * 2×2 orthogonal kernels from pairs of projectors p1, p2 [g, x, n, n]: the
 * block convolution [[P, I − P]] ⊛ [[Q], [I − Q]] of Xiao et al. / BCOP,
 * all x of them at once → [x, g·n, n, 2, 2].
 */
export function blockOrthKernels(p1: Tensor, p2: Tensor): Tensor {
  const [g, x, n] = p1.shape;
  const identity = eye(n, n, { dtype: p1.dtype, device: p1.device });
  const left = stack([p1, identity.sub(p1)]);
  const right = stack([p2, identity.sub(p2)]);
  return einsum('bgxij,cgxjk->xgikbc', left, right).reshape(x, g * n, n, 2, 2);
}

/** Kernel of the adjoint's channel layout: [cin, cout/g, k, k] ↔ [cout, cin/g, k, k] (optionally flipped). */
export function transposeKernel(p: Tensor, groups: number, flip = true): Tensor {
  const [ci, co, k1, k2] = p.shape;
  const perGroup = ci / groups;
  let out = p.view(groups, perGroup, co, k1, k2).transpose(1, 2);
  if (flip) out = out.flip(-1, -2);
  return out.reshape(co * groups, perGroup, k1, k2);
}
