// BCOP (block convolution orthogonal parametrization, Li et al. 2019, made
// fast in the AOC paper): a k×k orthogonal kernel is a 1×1 orthogonal
// convolution composed with k−1 orthogonal 2×2 block convolutions, each
// built from symmetric projectors P = QQᵀ where Q has orthonormal columns.
// The raw parameter holds 2k matrices Q per group; reparametrizers make them
// orthonormal, and BCOPTrivializer turns them into the kernel.
import { Tensor, einsum, empty, eye, scope } from '../../torch/index.js';
import { Module, Parametrization, init, registerParametrization } from '../../nn/index.js';
import { L2Normalize } from '../reparametrizers/l2-normalize.js';
import { OrthoParams } from '../reparametrizers/ortho-params.js';
import { blockOrthKernels, composeKernels, composeKernelsBatched, transposeKernel } from './kernel-ops.js';

export class BCOPTrivializer extends Parametrization {
  readonly maxChannels: number;
  readonly minChannels: number;
  /** The kernel is built for max(in, out) channels; when out < in the transpose is cheaper. */
  readonly transposed: boolean;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, readonly groups: number) {
    super();
    this.maxChannels = Math.max(inChannels, outChannels);
    this.minChannels = Math.min(inChannels, outChannels);
    this.transposed = outChannels < inChannels;
  }

  /** pq [g, 2k, c, c/2] with orthonormal columns → kernel [out, in/g, k, k]. */
  forward(pq: Tensor): Tensor {
    return scope(() => {
      const g = this.groups;
      const c = this.maxChannels / g;
      const k = this.kernelSize;
      const projectors = einsum('gijl,gikl->gijk', pq, pq); // QQᵀ for each of the 2k matrices
      const identity = eye(c, c, { dtype: pq.dtype, device: pq.device }).view(1, c, c);
      // 1×1 part: a product of two generalized Householder reflections (I − 2P).
      let kernel = identity.sub(projectors.select(1, 0), 2).matmul(identity.sub(projectors.select(1, 1), 2))
        .view(this.maxChannels, c, 1, 1);
      if (this.inChannels !== this.outChannels) kernel = kernel.narrow(1, 0, this.minChannels / g);
      if (k > 1) {
        let blocks = blockOrthKernels(projectors.narrow(1, 2, k - 1), projectors.narrow(1, k + 1, k - 1));
        // Compose the 2×2 blocks pairwise (first half with second half), as a tree, while the count is even.
        while (blocks.shape[0] > 1 && blocks.shape[0] % 2 === 0) {
          const half = blocks.shape[0] / 2;
          blocks = composeKernelsBatched(blocks.narrow(0, 0, half), blocks.narrow(0, half, half), g);
        }
        for (let i = 0; i < blocks.shape[0]; i++) kernel = composeKernels(kernel, blocks.select(0, i), g);
      }
      if (this.transposed) kernel = transposeKernel(kernel, g, false);
      return kernel.contiguous();
    });
  }

  override extraRepr(): string { return `${this.inChannels} → ${this.outChannels}, kernelSize=${this.kernelSize}, groups=${this.groups}`; }
}

/**
 * Registers `name` on `layer` as a BCOP kernel of shape [out, in/groups, k, k]
 * (kernelShape) and returns nothing: read it back with the layer's weightOf(name).
 */
export function attachBcopWeight(layer: Module, name: string, kernelShape: [number, number, number, number], groups: number, orthoParams: OrthoParams): void {
  const [out, inPerGroup, k, k2] = kernelShape;
  if (k !== k2) throw new RangeError(`BCOP supports square kernels only, got ${k}×${k2}`);
  const inChannels = inPerGroup * groups;
  const maxChannels = Math.max(inChannels, out);
  const raw = init.orthogonal_(empty([groups, 2 * k, maxChannels / groups, Math.floor(maxChannels / (groups * 2))]));
  layer.registerParameter(name, raw);
  const steps: Parametrization[] = raw.shape[3] === 1
    // A single column: normalizing it is all orthogonalization needs (and much cheaper).
    ? [new L2Normalize(-2)]
    : [orthoParams.spectralNormalizer(raw.shape), orthoParams.orthogonalizer(raw.shape)];
  registerParametrization(layer, name, ...steps, new BCOPTrivializer(inChannels, out, k, groups));
}
