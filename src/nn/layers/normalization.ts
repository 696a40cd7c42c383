// Normalization layers with PyTorch's options, defaults and state-dict names
// (weight, bias, running_mean, running_var, num_batches_tracked), so that
// PyTorch checkpoints load into them.
import { F, Tensor, noGrad, ones, zeros, tensor } from '../../torch/index.js';
import { Module } from '../module.js';
import { checkPositive } from './linear.js';

/** The per-element scale (ones) and shift (zeros) of an affine normalization, or null ones when off — PyTorch's `weight` and `bias`. */
function registerAffine(module: Module, affine: boolean, shape: number[], dtype: 'float32' | 'float64' | undefined): void {
  module.registerParameter('weight', affine ? ones(shape, { dtype }) : null);
  module.registerParameter('bias', affine ? zeros(shape, { dtype }) : null);
}

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the newest batch in the running statistics; null = cumulative average over all batches. Default 0.1. */
  momentum?: number | null;
  /** Learnable per-channel weight and bias (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true); without them batch statistics are used in eval too. */
  trackRunningStats?: boolean;
  dtype?: 'float32' | 'float64';
}

function checkEps(layer: string, eps: number): void {
  if (!(eps > 0) || !Number.isFinite(eps)) throw new RangeError(`${layer}: eps must be a finite number > 0, got ${eps}`);
}

function checkMomentum(layer: string, momentum: number | null, allowNull: boolean): void {
  if (momentum === null && allowNull) return;
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) {
    throw new RangeError(`${layer}: momentum must be a number in [0, 1]${allowNull ? ' or null (cumulative average)' : ''}, got ${momentum}`);
  }
}

/** Shared state of BatchNorm and InstanceNorm layers (PyTorch's _NormBase). */
abstract class NormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(numFeatures: number, options: BatchNormOptions, defaults: { affine: boolean; trackRunningStats: boolean }, allowNullMomentum: boolean) {
    super();
    checkPositive(new.target.name, { numFeatures });
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    checkEps(new.target.name, this.eps);
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    checkMomentum(new.target.name, this.momentum, allowNullMomentum);
    this.affine = options.affine ?? defaults.affine;
    this.trackRunningStats = options.trackRunningStats ?? defaults.trackRunningStats;
    const dtype = options.dtype;
    registerAffine(this, this.affine, [numFeatures], dtype);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures], { dtype }));
      this.registerBuffer('running_var', ones([numFeatures], { dtype }));
      this.registerBuffer('num_batches_tracked', tensor(0, { dtype: 'int64' }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
  }

  get weight(): Tensor | null { return this.getParameter('weight'); }
  get bias(): Tensor | null { return this.getParameter('bias'); }
  get runningMean(): Tensor | null { return this.getBuffer('running_mean'); }
  get runningVar(): Tensor | null { return this.getBuffer('running_var'); }
  get numBatchesTracked(): Tensor | null { return this.getBuffer('num_batches_tracked'); }

  /** Checkpoints from before PyTorch 0.4.1 lack num_batches_tracked: it loads as 0, as PyTorch's _NormBase does. */
  protected override missingStateDefault(name: string): ((target: Tensor) => void) | null {
    return name === 'num_batches_tracked' ? (target) => { target.zero_(); } : null;
  }

  /** Resets the running statistics to mean 0, variance 1 and no batches seen. */
  resetRunningStats(): void {
    noGrad(() => {
      this.runningMean?.zero_();
      this.runningVar?.fill_(1);
      this.numBatchesTracked?.zero_();
    });
  }

  /** Resets the running statistics and the affine parameters (weight 1, bias 0). */
  resetParameters(): void {
    this.resetRunningStats();
    noGrad(() => {
      this.weight?.fill_(1);
      this.bias?.zero_();
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

abstract class BatchNormBase extends NormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, { affine: true, trackRunningStats: true }, true);
  }

  /** The input ranks the layer accepts, e.g. [2, 3] for BatchNorm1d. */
  protected abstract readonly ranks: number[];
  protected abstract readonly layout: string;

  forward(x: Tensor): Tensor {
    const shape = x.shape;
    if (!this.ranks.includes(shape.length)) {
      throw new RangeError(`${this.typeName}: expected ${this.ranks.map((r) => `${r}D`).join(' or ')} input ${this.layout}, got ${shape.length}D input of shape [${shape.join(', ')}]`);
    }
    if (shape[1] !== this.numFeatures) {
      throw new RangeError(`${this.typeName}: input has ${shape[1]} channels (dim 1), expected numFeatures = ${this.numFeatures}`);
    }
    let factor = this.momentum ?? 0;
    const nbt = this.numBatchesTracked;
    if (this.training && this.trackRunningStats && nbt) {
      noGrad(() => nbt.add_(1));
      if (this.momentum === null) factor = 1 / nbt.item();
    }
    // Batch statistics in training, and in eval when no running statistics are kept (as PyTorch).
    const useBatchStats = this.training || this.runningMean === null;
    const passRunning = !this.training || this.trackRunningStats;
    return F.batchNorm(x, passRunning ? this.runningMean : null, passRunning ? this.runningVar : null, {
      weight: this.weight, bias: this.bias, training: useBatchStats, momentum: factor, eps: this.eps,
    });
  }
}

/** Batch normalization over [N, C] or [N, C, L] inputs (nn.BatchNorm1d). */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3];
  protected readonly layout = '[N, C] or [N, C, L]';
}

/** Batch normalization over [N, C, H, W] inputs (nn.BatchNorm2d). */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4];
  protected readonly layout = '[N, C, H, W]';
}

/** Batch normalization over [N, C, D, H, W] inputs (nn.BatchNorm3d). */
export class BatchNorm3d extends BatchNormBase {
  protected readonly ranks = [5];
  protected readonly layout = '[N, C, D, H, W]';
}

export interface InstanceNormOptions extends BatchNormOptions {
  /** Weight of the newest batch in the running statistics (default 0.1); null (a cumulative average) is refused, as PyTorch 1.13's F.instance_norm does. */
  momentum?: number;
}

/**
 * Instance normalization (PyTorch's _InstanceNorm): each channel of each
 * sample normalized over its spatial dims; unbatched inputs are given a
 * batch of one. affine and trackRunningStats default to false, as in
 * PyTorch; with trackRunningStats the running statistics (the mean over the
 * batch of the instances' statistics) are updated in training and used in eval.
 */
abstract class InstanceNormBase extends NormBase {
  constructor(numFeatures: number, options: InstanceNormOptions = {}) {
    super(numFeatures, options, { affine: false, trackRunningStats: false }, false);
  }

  /** The number of spatial dims (1 for InstanceNorm1d …). */
  protected abstract readonly spatialDims: number;
  /** The unbatched and batched layouts, e.g. '[C, L] or [N, C, L]'. */
  protected abstract readonly layout: string;

  forward(x: Tensor): Tensor {
    const shape = x.shape;
    const batchedRank = this.spatialDims + 2;
    if (shape.length !== batchedRank && shape.length !== batchedRank - 1) {
      throw new RangeError(`${this.typeName}: expected ${batchedRank - 1}D or ${batchedRank}D input ${this.layout}, got ${shape.length}D input of shape [${shape.join(', ')}]`);
    }
    const channels = shape[shape.length - this.spatialDims - 1];
    if (channels !== this.numFeatures && (this.affine || this.trackRunningStats)) {
      throw new RangeError(`${this.typeName}: input has ${channels} channels, expected numFeatures = ${this.numFeatures}`);
    }
    const run = (input: Tensor) => F.instanceNorm(input, {
      runningMean: this.runningMean, runningVar: this.runningVar, weight: this.weight, bias: this.bias,
      useInputStats: this.training || !this.trackRunningStats, momentum: this.momentum ?? 0.1, eps: this.eps,
    });
    if (shape.length === batchedRank) return run(x);
    const batched = x.unsqueeze(0);
    try {
      const out = run(batched);
      const squeezed = out.squeeze(0);
      out.dispose();
      return squeezed;
    } finally {
      batched.dispose();
    }
  }
}

/** Instance normalization over [N, C, L] (or unbatched [C, L]) inputs (nn.InstanceNorm1d). */
export class InstanceNorm1d extends InstanceNormBase {
  protected readonly spatialDims = 1;
  protected readonly layout = '[C, L] or [N, C, L]';
}

/** Instance normalization over [N, C, H, W] (or unbatched [C, H, W]) inputs (nn.InstanceNorm2d). */
export class InstanceNorm2d extends InstanceNormBase {
  protected readonly spatialDims = 2;
  protected readonly layout = '[C, H, W] or [N, C, H, W]';
}

/** Instance normalization over [N, C, D, H, W] (or unbatched [C, D, H, W]) inputs (nn.InstanceNorm3d). */
export class InstanceNorm3d extends InstanceNormBase {
  protected readonly spatialDims = 3;
  protected readonly layout = '[C, D, H, W] or [N, C, D, H, W]';
}

export interface LayerNormOptions { eps?: number; elementwiseAffine?: boolean; dtype?: 'float32' | 'float64' }

/** Normalizes over the trailing `normalizedShape` dims of each sample (nn.LayerNorm). */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = Array.isArray(normalizedShape) ? [...normalizedShape] : [normalizedShape];
    if (this.normalizedShape.length === 0 || this.normalizedShape.some((s) => !Number.isInteger(s) || s <= 0)) {
      throw new RangeError(`LayerNorm: normalizedShape must be a positive integer or a non-empty list of them, got ${JSON.stringify(normalizedShape)}`);
    }
    this.eps = options.eps ?? 1e-5;
    checkEps('LayerNorm', this.eps);
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    registerAffine(this, this.elementwiseAffine, this.normalizedShape, options.dtype);
  }

  get weight(): Tensor | null { return this.getParameter('weight'); }
  get bias(): Tensor | null { return this.getParameter('bias'); }

  forward(x: Tensor): Tensor {
    const dims = this.normalizedShape;
    const trailing = x.shape.slice(-dims.length);
    if (x.ndim < dims.length || trailing.some((s, i) => s !== dims[i])) {
      throw new RangeError(`LayerNorm: input of shape [${x.shape.join(', ')}] does not end with normalizedShape [${dims.join(', ')}]`);
    }
    return F.layerNorm(x, dims, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string { return `[${this.normalizedShape}], eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`; }
}

export interface GroupNormOptions { eps?: number; affine?: boolean; dtype?: 'float32' | 'float64' }

/** Normalizes each of `numGroups` groups of channels per sample (nn.GroupNorm). */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;

  constructor(numGroups: number, numChannels: number, options: GroupNormOptions = {}) {
    super();
    checkPositive('GroupNorm', { numGroups, numChannels });
    if (numChannels % numGroups !== 0) throw new RangeError(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-5;
    checkEps('GroupNorm', this.eps);
    this.affine = options.affine ?? true;
    registerAffine(this, this.affine, [numChannels], options.dtype);
  }

  get weight(): Tensor | null { return this.getParameter('weight'); }
  get bias(): Tensor | null { return this.getParameter('bias'); }

  forward(x: Tensor): Tensor {
    const shape = x.shape;
    if (shape.length < 2) throw new RangeError(`GroupNorm: expected input [N, C, …], got shape [${shape.join(', ')}]`);
    if (shape[1] !== this.numChannels) throw new RangeError(`GroupNorm: input has ${shape[1]} channels (dim 1), expected numChannels = ${this.numChannels}`);
    return F.groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string { return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.affine}`; }
}
