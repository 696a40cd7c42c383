// torch.nn-style loss modules: thin wrappers over the F functions with
// PyTorch's option names and defaults (reduction 'mean').
import { F, Tensor, keep } from '../../torch/index.js';
import type { Reduction, KlReduction } from '../../torch/functional.js';
import { Module } from '../module.js';

const REDUCTIONS = ['none', 'mean', 'sum'];

function checkReduction(loss: string, reduction: string, allowed = REDUCTIONS): void {
  if (!allowed.includes(reduction)) {
    throw new TypeError(`${loss}: reduction must be ${allowed.map((r) => `'${r}'`).join(', ')}, got '${String(reduction)}'`);
  }
}

/** Losses comparing an input with a target: forward(input, target). */
abstract class Loss extends Module {
  readonly reduction: Reduction;
  constructor(options: { reduction?: Reduction }) {
    super();
    this.reduction = options.reduction ?? 'mean';
    checkReduction(new.target.name, this.reduction);
  }
  abstract override forward(input: Tensor, target: Tensor): Tensor;
  override extraRepr(): string { return `reduction='${this.reduction}'`; }
}

export class MSELoss extends Loss {
  constructor(options: { reduction?: Reduction } = {}) { super(options); }
  forward(input: Tensor, target: Tensor): Tensor {
    const a = input.shape;
    const b = target.shape;
    if (a.length !== b.length || a.some((s, i) => s !== b[i])) {
      throw new RangeError(`MSELoss: input shape [${a.join(', ')}] and target shape [${b.join(', ')}] must be the same`);
    }
    return F.mseLoss(input, target, this.reduction);
  }
}

export class L1Loss extends Loss {
  constructor(options: { reduction?: Reduction } = {}) { super(options); }
  forward(input: Tensor, target: Tensor): Tensor { return F.l1Loss(input, target, this.reduction); }
}

export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor(options: { reduction?: Reduction; beta?: number } = {}) {
    super(options);
    this.beta = options.beta ?? 1;
    if (!(this.beta >= 0)) throw new RangeError(`SmoothL1Loss: beta must be ≥ 0, got ${this.beta}`);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta }); }
}

export class HuberLoss extends Loss {
  readonly delta: number;
  constructor(options: { reduction?: Reduction; delta?: number } = {}) {
    super(options);
    this.delta = options.delta ?? 1;
    if (!(this.delta > 0)) throw new RangeError(`HuberLoss: delta must be > 0, got ${this.delta}`);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.huberLoss(input, target, { reduction: this.reduction, delta: this.delta }); }
}

/** Registers an optional weight tensor as a buffer named 'weight' (or `name`), as PyTorch's _WeightedLoss does. */
function weightBuffer(module: Module, name: string, weight: Tensor | null | undefined): Tensor | null {
  if (!weight) {
    module.registerBuffer(name, null);
    return null;
  }
  const own = weight.detach();
  keep(own);
  return module.registerBuffer(name, own);
}

export class NLLLoss extends Loss {
  readonly ignoreIndex: number;
  constructor(options: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction } = {}) {
    super(options);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    if (!Number.isInteger(this.ignoreIndex)) throw new TypeError(`NLLLoss: ignoreIndex must be an integer, got ${this.ignoreIndex}`);
    weightBuffer(this, 'weight', options.weight);
  }
  get weight(): Tensor | null { return this.getBuffer('weight'); }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

export class BCELoss extends Loss {
  constructor(options: { weight?: Tensor | null; reduction?: Reduction } = {}) {
    super(options);
    weightBuffer(this, 'weight', options.weight);
  }
  get weight(): Tensor | null { return this.getBuffer('weight'); }
  forward(input: Tensor, target: Tensor): Tensor { return F.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction }); }
}

export class BCEWithLogitsLoss extends Loss {
  constructor(options: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {}) {
    super(options);
    weightBuffer(this, 'weight', options.weight);
    weightBuffer(this, 'pos_weight', options.posWeight);
  }
  get weight(): Tensor | null { return this.getBuffer('weight'); }
  get posWeight(): Tensor | null { return this.getBuffer('pos_weight'); }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, { weight: this.weight, posWeight: this.posWeight, reduction: this.reduction });
  }
}

/** KL divergence with the input as log-probabilities; prefer reduction 'batchmean' (the true KL per sample). */
export class KLDivLoss extends Module {
  readonly reduction: KlReduction;
  readonly logTarget: boolean;
  constructor(options: { reduction?: KlReduction; logTarget?: boolean } = {}) {
    super();
    this.reduction = options.reduction ?? 'mean';
    checkReduction('KLDivLoss', this.reduction, [...REDUCTIONS, 'batchmean']);
    this.logTarget = options.logTarget ?? false;
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget }); }
  override extraRepr(): string { return `reduction='${this.reduction}', logTarget=${this.logTarget}`; }
}
