// Orthogonal linear layers: OrthoLinear (weight orthogonal — rows or columns
// orthonormal when the shape is not square — so the layer is 1-Lipschitz as a
// whole) and UnitNormLinear (each row of unit norm: each output 1-Lipschitz,
// the head for class-wise certificates).
import { Tensor, linalg, noGrad, scope } from '../../torch/index.js';
import { Linear, init, registerParametrization } from '../../nn/index.js';
import { L2Normalize } from '../reparametrizers/l2-normalize.js';
import { OrthoParamsLike, resolveOrthoParams } from '../reparametrizers/ortho-params.js';

export interface OrthoLinearOptions { bias?: boolean; orthoParams?: OrthoParamsLike }

/** The singular values of a linear layer's weight, and summaries of them. */
export interface LinearSingularValues {
  /** Smallest of the min(out, in) singular values. */
  min: number;
  /** Largest: the layer's Lipschitz constant (spectral norm of the weight). */
  max: number;
  /**
   * ‖W‖F² / ‖W‖₂² = Σσᵢ² / σ_max², between 1 and min(out, in) (the latter
   * for an orthogonal weight): the same definition as convSingularValues.
   */
  stableRank: number;
  /**
   * stableRank / min(out, in): a fraction of full rank, 1 for an orthogonal
   * weight (the normalization Orthogonium's get_conv_sv uses). Orthogonium's
   * linear singular_values() returns yet another ratio, (mean σ / σ_max)²,
   * which is ≤ this one and also 1 for an orthogonal weight.
   */
  normalizedStableRank: number;
  /** All min(out, in) singular values, decreasing. */
  values: number[];
}

/** Singular values of `weight` [out, in], in float64, without gradient. */
export function linearSingularValues(weight: Tensor): LinearSingularValues {
  if (!(weight instanceof Tensor) || weight.ndim !== 2) throw new RangeError('linearSingularValues: expected a 2-d weight [out, in]');
  const values = noGrad(() => scope(() => linalg.svdvals(weight.detach().to('float64')).toFlatArray() as number[]));
  const max = values[0];
  const min = values[values.length - 1];
  const stableRank = max > 0 ? values.reduce((s, v) => s + v * v, 0) / (max * max) : 0;
  return { min, max, stableRank, normalizedStableRank: stableRank / values.length, values };
}

export class OrthoLinear extends Linear {
  constructor(inFeatures: number, outFeatures: number, options: OrthoLinearOptions = {}) {
    super(inFeatures, outFeatures, { bias: options.bias ?? true });
    const params = resolveOrthoParams(options.orthoParams);
    init.orthogonal_(this.getParameter('weight')!);
    const shape = [outFeatures, inFeatures];
    registerParametrization(this, 'weight', params.spectralNormalizer(shape), params.orthogonalizer(shape));
  }

  /** Singular values of the actual (orthogonalized) weight: all 1 up to the orthogonalizer's precision. */
  singularValues(): LinearSingularValues { return linearSingularValues(noGrad(() => this.weight)); }
}

export class UnitNormLinear extends Linear {
  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super(inFeatures, outFeatures, { bias: options.bias ?? true });
    init.orthogonal_(this.getParameter('weight')!);
    registerParametrization(this, 'weight', new L2Normalize(1));
  }

  /** Singular values of the actual (row-normalized) weight; max can exceed 1 (each row, not the layer, is 1-Lipschitz). */
  singularValues(): LinearSingularValues { return linearSingularValues(noGrad(() => this.weight)); }
}

