// RKO (reshaped kernel orthogonalization): the kernel [out, in/g, k, k] is
// orthogonalized as a matrix [out/g, in/g·k·k] per group. For kernel ==
// stride the patches do not overlap, so this gives an exactly orthogonal
// convolution; otherwise the scale 1/√(⌈k/s⌉²) keeps it 1-Lipschitz.
import { Tensor, empty, scope } from '../../torch/index.js';
import { Module, Parametrization, init, registerParametrization } from '../../nn/index.js';
import { OrthoParams } from '../reparametrizers/ortho-params.js';

export class RKOParametrizer extends Parametrization {
  private readonly matrixShape: [number, number, number];
  private readonly pi: Parametrization;
  private readonly bjorck: Parametrization;

  constructor(readonly kernelShape: [number, number, number, number], readonly groups: number, readonly scale: number, orthoParams: OrthoParams) {
    super();
    const [out, inPerGroup, k1, k2] = kernelShape;
    this.matrixShape = [groups, out / groups, inPerGroup * k1 * k2];
    this.pi = this.registerModule('pi', orthoParams.spectralNormalizer(this.matrixShape));
    this.bjorck = this.registerModule('bjorck', orthoParams.orthogonalizer(this.matrixShape));
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const m = this.bjorck.forward(this.pi.forward(x.reshape(this.matrixShape)));
      return m.reshape(this.kernelShape).mul(this.scale);
    });
  }

  override rightInverse(x: Tensor): Tensor { return x.clone(); }

  override extraRepr(): string { return `kernelShape=[${this.kernelShape}], groups=${this.groups}, scale=${this.scale}`; }
}

/**
 * Registers `name` on `layer` as an RKO kernel of shape kernelShape. The raw
 * weight starts orthogonal group by group, so the orthogonalizer starts
 * converged. (Orthogonium draws most RKO weights from a Gaussian, whose small
 * singular values 12 Björck iterations cannot lift to 1.)
 */
export function attachRkoWeight(layer: Module, name: string, kernelShape: [number, number, number, number], groups: number,
  scale: number, orthoParams: OrthoParams): void {
  const [out, inPerGroup, k1, k2] = kernelShape;
  const raw = empty(kernelShape);
  scope(() => {
    const perGroup = raw.view(groups, out / groups, inPerGroup * k1 * k2);
    for (let g = 0; g < groups; g++) init.orthogonal_(perGroup.select(0, g));
  });
  layer.registerParameter(name, raw);
  registerParametrization(layer, name, new RKOParametrizer(kernelShape, groups, scale, orthoParams));
}
