// Training losses for 1-Lipschitz classifiers, following the definitions of
// Orthogonium's `losses.py`: the margin-shifted cross-entropy (LossXent),
// the cosine loss and its certificate-aware variant, the soft multiclass
// hinge–Kantorovich-Rubinstein loss, a multiclass hinge margin loss and plain
// cross-entropy. Each is a Module whose forward(logits, labels) returns the
// batch mean as a 0-d tensor; labels are class indices.
import { F, Tensor, full, noGrad, scope } from '../torch/index.js';
import { Module } from '../nn/index.js';
import { LastLayer, checkFinite, checkLastLayer, checkLipschitz, checkLogitsAndLabels, checkPositiveInt, describe } from './checks.js';

/** 1 where the label is, 0 elsewhere, in the logits' dtype and device. */
function oneHotLike(logits: Tensor, labels: Tensor): Tensor {
  return F.oneHot(labels.to({ dtype: 'int64', device: logits.device }), logits.shape[1]).to(logits.dtype);
}

/** Logit of the true class [N] and largest logit among the other classes [N]. */
export function trueAndRunnerUp(logits: Tensor, labels: Tensor): { fy: Tensor; fOther: Tensor } {
  const index = labels.to({ dtype: 'int64', device: logits.device }).unsqueeze(1);
  const fy = logits.gather(1, index).squeeze(1);
  // −∞ at the true class (instead of subtracting a large constant) keeps this exact for any logit scale.
  const fOther = logits.scatter(1, index, -Infinity).amax(1);
  return { fy, fOther };
}

/** The certificate denominator: √2·L for a globally Lipschitz head, 2·L for a class-wise one. */
export function certificateDenominator(lastLayer: LastLayer, lipschitz: number): number {
  return lastLayer === 'global' ? Math.SQRT2 * lipschitz : 2 * lipschitz;
}

export interface LossXentOptions {
  nClasses: number;
  /** Subtracted from the true-class logit before the softmax: the margin asked for (default 2.12132). */
  offset?: number;
  /** Logits are divided by it, and the loss multiplied by it (default 0.25). */
  temperature?: number;
}

/**
 * Cross-entropy on (logits − offset·onehot(labels)) / temperature, multiplied
 * by temperature. The offset makes the loss keep pushing until the true
 * logit leads by about `offset`; Orthogonium's recipe sets it to
 * √2 / 0.1983 · ε for a target radius ε.
 */
export class LossXent extends Module {
  readonly nClasses: number;
  readonly offset: number;
  readonly temperature: number;

  constructor(options: LossXentOptions) {
    super();
    const { nClasses, offset = 2.12132, temperature = 0.25 } = options ?? ({} as LossXentOptions);
    checkPositiveInt('LossXent', 'nClasses', nClasses, 2);
    checkFinite('LossXent', 'offset', offset);
    checkFinite('LossXent', 'temperature', temperature);
    if (temperature <= 0) throw new RangeError(`LossXent: temperature must be > 0, got ${temperature}`);
    this.nClasses = nClasses;
    this.offset = offset;
    this.temperature = temperature;
  }

  forward(logits: Tensor, labels: Tensor): Tensor {
    checkLogitsAndLabels('LossXent', logits, labels);
    if (logits.shape[1] !== this.nClasses) {
      throw new RangeError(`LossXent: built for ${this.nClasses} classes but the logits have ${logits.shape[1]}`);
    }
    return scope(() => {
      const shifted = logits.sub(oneHotLike(logits, labels).mul(this.offset)).div(this.temperature);
      return F.crossEntropy(shifted, labels.to({ dtype: 'int64', device: logits.device })).mul(this.temperature);
    });
  }

  override extraRepr(): string { return `nClasses=${this.nClasses}, offset=${this.offset}, temperature=${this.temperature}`; }
}

/** Minus the mean cosine similarity between the logits and the one-hot labels, i.e. −mean(f_y / ‖f‖). */
export class CosineLoss extends Module {
  forward(logits: Tensor, labels: Tensor): Tensor {
    checkLogitsAndLabels('CosineLoss', logits, labels);
    return scope(() => F.cosineSimilarity(logits, oneHotLike(logits, labels)).mean().neg());
  }
}

export interface CosineVRALossOptions {
  /** Weight of the certificate term (the cosine term gets 1 − gamma). Default 0.1. */
  gamma?: number;
  /** Lipschitz constant of the model (default 1). */
  L?: number;
  /** Target radius (default 36/255). */
  eps?: number;
  /** 'global' (OrthoLinear head, √2·L) or 'classwise' (UnitNormLinear head, 2·L). Default 'classwise'. */
  lastLayerType?: LastLayer;
}

/**
 * (1 − γ)·(−cos(f, onehot)) + γ·softVRA, averaged over the batch. For each
 * other class i the pairwise certificate c_i = (f_y − f_i)/den falls short of
 * eps by s_i = relu(eps − c_i); softVRA = Σ_i s_i·softmax(s)_i over the
 * other classes, a smooth maximum of the shortfalls.
 */
export class CosineVRALoss extends Module {
  readonly gamma: number;
  readonly L: number;
  readonly eps: number;
  readonly lastLayerType: LastLayer;

  constructor(options: CosineVRALossOptions = {}) {
    super();
    const { gamma = 0.1, L = 1, eps = 36 / 255, lastLayerType = 'classwise' } = options;
    checkFinite('CosineVRALoss', 'gamma', gamma);
    checkLipschitz('CosineVRALoss', L);
    checkFinite('CosineVRALoss', 'eps', eps, 0);
    checkLastLayer('CosineVRALoss', lastLayerType);
    this.gamma = gamma;
    this.L = L;
    this.eps = eps;
    this.lastLayerType = lastLayerType;
  }

  /** The per-sample soft certificate shortfall [N]. */
  softVRA(logits: Tensor, labels: Tensor): Tensor {
    checkLogitsAndLabels('CosineVRALoss.softVRA', logits, labels);
    return scope(() => this.softVRAUnchecked(logits, oneHotLike(logits, labels).bool(), labels));
  }

  private softVRAUnchecked(logits: Tensor, isTrue: Tensor, labels: Tensor): Tensor {
    const { fy } = trueAndRunnerUp(logits, labels);
    const den = certificateDenominator(this.lastLayerType, this.L);
    // Shortfall of every pairwise certificate; the true class's own entry is masked out below.
    const shortfall = fy.unsqueeze(1).sub(logits).div(den).rsub(this.eps).relu();
    const weights = shortfall.maskedFill(isTrue, -Infinity).softmax(1);
    return shortfall.mul(weights).sum(1);
  }

  forward(logits: Tensor, labels: Tensor, gamma: number = this.gamma): Tensor {
    checkLogitsAndLabels('CosineVRALoss', logits, labels);
    checkFinite('CosineVRALoss', 'gamma', gamma);
    return scope(() => {
      const onehot = oneHotLike(logits, labels);
      const cosine = F.cosineSimilarity(logits, onehot);
      const soft = this.softVRAUnchecked(logits, onehot.bool(), labels);
      return cosine.mul(-(1 - gamma)).add(soft.mul(gamma)).mean();
    });
  }

  override extraRepr(): string { return `gamma=${this.gamma}, L=${this.L}, eps=${this.eps}, lastLayerType=${this.lastLayerType}`; }
}

export interface SoftHKRMulticlassLossOptions {
  /**
   * Trade-off in [0, 1]: 0 is the soft Kantorovich-Rubinstein term alone, 1
   * the soft hinge alone. Default 0.9. (Orthogonium's signature says 10.0
   * but its constructor rejects anything outside [0, 1], so that default
   * cannot be used there either; 0.9 is deel-torchlip's default and close to
   * what the older "alpha = 10" convention meant, 10 / (1 + 10).)
   */
  alpha?: number;
  /** The margin the hinge asks for (each logit must be beyond ±minMargin/2). Default 1. */
  minMargin?: number;
  /** Decay of the running mean of |logits| (default 0.99). */
  alphaMean?: number;
  /** Softmax temperature factor (default 1); higher weights the top wrong logits more. */
  temperature?: number;
}

/**
 * The soft multiclass hinge–KR loss. With s = +f_y at the true class and
 * −f_i elsewhere, and weights w = 1 at the true class and the softmax of
 * τ·f_i over the other classes:
 *   hinge = Σ_j w_j · relu(minMargin/2 − s_j),   kr = −Σ_j w_j · s_j,
 *   loss  = mean over the batch of (1 − α)·kr + α·hinge.
 * τ = clamp(temperature·minMargin / m, 0.005, 250) where m is a running
 * mean of |logits| (buffer `currentMean`, updated at each call in training
 * mode with decay alphaMean, stored clamped to [0.005, 1000], and used
 * clamped to [minMargin, 20000]). The weights carry no gradient.
 */
export class SoftHKRMulticlassLoss extends Module {
  readonly alpha: number;
  readonly minMargin: number;
  readonly alphaMean: number;
  readonly temperature: number;

  constructor(options: SoftHKRMulticlassLossOptions = {}) {
    super();
    const { alpha = 0.9, minMargin = 1, alphaMean = 0.99, temperature = 1 } = options;
    if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) {
      throw new RangeError(`SoftHKRMulticlassLoss: alpha must be in [0, 1] (0 = KR only, 1 = hinge only), got ${describe(alpha)}` +
        (typeof alpha === 'number' && alpha > 1 ? `; for the old convention alpha = ${alpha} use ${alpha} / (1 + ${alpha}) = ${alpha / (1 + alpha)}` : ''));
    }
    checkFinite('SoftHKRMulticlassLoss', 'minMargin', minMargin);
    if (minMargin <= 0) throw new RangeError(`SoftHKRMulticlassLoss: minMargin must be > 0, got ${minMargin}`);
    if (typeof alphaMean !== 'number' || !(alphaMean >= 0 && alphaMean <= 1)) {
      throw new RangeError(`SoftHKRMulticlassLoss: alphaMean must be in [0, 1], got ${describe(alphaMean)}`);
    }
    checkFinite('SoftHKRMulticlassLoss', 'temperature', temperature);
    if (temperature <= 0) throw new RangeError(`SoftHKRMulticlassLoss: temperature must be > 0, got ${temperature}`);
    this.alpha = alpha;
    this.minMargin = minMargin;
    this.alphaMean = alphaMean;
    this.temperature = temperature;
    this.registerBuffer('currentMean', full([1], minMargin, { dtype: 'float32' }));
  }

  /** The running mean of |logits| (a 1-element float32 buffer). */
  get currentMean(): Tensor { return this.getBuffer('currentMean')!; }

  /**
   * Folds the batch's mean |logit| into the running mean (training mode) and returns the softmax temperature to use.
   * Deliberate deviation: Orthogonium updates the mean on every call, whatever the mode, so computing a validation
   * loss moves the state training continues from. Here, as for BatchNorm's running statistics, eval mode reads the
   * mean without moving it (a loss Module is in training mode unless eval() is called, so the default matches).
   */
  private updateTemperature(logits: Tensor): number {
    return noGrad(() => scope(() => {
      let buffer = this.currentMean;
      if (buffer.device !== logits.device) {
        this.setBuffer('currentMean', buffer.to({ device: logits.device }));
        buffer = this.currentMean;
      }
      let mean = buffer;
      if (this.training) {
        const batchMean = logits.abs().mean().to('float32');
        mean = buffer.mul(this.alphaMean).add(batchMean.mul(1 - this.alphaMean));
        buffer.copy_(mean.clamp(0.005, 1000));
      }
      const m = mean.clamp(this.minMargin, 20000).item();
      return Math.min(250, Math.max(0.005, (this.temperature * this.minMargin) / m));
    }));
  }

  forward(logits: Tensor, labels: Tensor): Tensor {
    checkLogitsAndLabels('SoftHKRMulticlassLoss', logits, labels);
    const tau = this.updateTemperature(logits);
    return scope(() => {
      const isTrue = oneHotLike(logits, labels).bool();
      const weights = noGrad(() => logits.detach().mul(tau).maskedFill(isTrue, -Infinity).softmax(1).maskedFill(isTrue, 1));
      const signed = logits.mul(isTrue.to(logits.dtype).mul(2).sub(1));
      let perSample: Tensor | null = null;
      if (this.alpha < 1) {
        const kr = signed.neg().mul(weights).sum(1);
        perSample = kr.mul(1 - this.alpha);
      }
      if (this.alpha > 0) {
        const hinge = signed.rsub(this.minMargin / 2).relu().mul(weights).sum(1).mul(this.alpha);
        perSample = perSample === null ? hinge : perSample.add(hinge);
      }
      return perSample!.mean();
    });
  }

  override extraRepr(): string {
    return `alpha=${this.alpha}, minMargin=${this.minMargin}, alphaMean=${this.alphaMean}, temperature=${this.temperature}`;
  }
}

/**
 * Multiclass hinge on the certificate margin: mean of
 * relu(margin − (f_y − max_{i≠y} f_i)). For a globally 1-Lipschitz model a
 * zero loss on a sample certifies it at radius margin/√2.
 */
export class HingeMarginLoss extends Module {
  readonly margin: number;

  constructor(options: { margin?: number } = {}) {
    super();
    const { margin = 1 } = options;
    checkFinite('HingeMarginLoss', 'margin', margin, 0);
    this.margin = margin;
  }

  forward(logits: Tensor, labels: Tensor): Tensor {
    checkLogitsAndLabels('HingeMarginLoss', logits, labels);
    return scope(() => {
      const { fy, fOther } = trueAndRunnerUp(logits, labels);
      return fy.sub(fOther).rsub(this.margin).relu().mean();
    });
  }

  override extraRepr(): string { return `margin=${this.margin}`; }
}

/** Plain softmax cross-entropy (torch.nn.CrossEntropyLoss) with optional label smoothing. */
export class CrossEntropyLoss extends Module {
  readonly labelSmoothing: number;

  constructor(options: { labelSmoothing?: number } = {}) {
    super();
    const { labelSmoothing = 0 } = options;
    if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing <= 1)) {
      throw new RangeError(`CrossEntropyLoss: labelSmoothing must be in [0, 1], got ${describe(labelSmoothing)}`);
    }
    this.labelSmoothing = labelSmoothing;
  }

  forward(logits: Tensor, labels: Tensor): Tensor {
    checkLogitsAndLabels('CrossEntropyLoss', logits, labels);
    return scope(() => F.crossEntropy(logits, labels.to({ dtype: 'int64', device: logits.device }), { labelSmoothing: this.labelSmoothing }));
  }

  override extraRepr(): string { return `labelSmoothing=${this.labelSmoothing}`; }
}
