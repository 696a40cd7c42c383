// Orthogonal linear layers: OrthoLinear (weight orthogonal — rows or columns
// orthonormal when the shape is not square — so the layer is 1-Lipschitz as a
// whole) and UnitNormLinear (each row of unit norm: each output 1-Lipschitz,
// the head for class-wise certificates).
import { Linear, init, registerParametrization } from '../../nn/index.js';
import { L2Normalize } from '../reparametrizers/l2-normalize.js';
import { OrthoParams, resolveOrthoParams } from '../reparametrizers/ortho-params.js';

export interface OrthoLinearOptions { bias?: boolean; orthoParams?: OrthoParams | string }

export class OrthoLinear extends Linear {
  constructor(inFeatures: number, outFeatures: number, options: OrthoLinearOptions = {}) {
    super(inFeatures, outFeatures, { bias: options.bias ?? true });
    const params = resolveOrthoParams(options.orthoParams);
    init.orthogonal_(this.getParameter('weight')!);
    const shape = [outFeatures, inFeatures];
    registerParametrization(this, 'weight', params.spectralNormalizer(shape), params.orthogonalizer(shape));
  }
}

export class UnitNormLinear extends Linear {
  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super(inFeatures, outFeatures, { bias: options.bias ?? true });
    init.orthogonal_(this.getParameter('weight')!);
    registerParametrization(this, 'weight', new L2Normalize(1));
  }
}

