// Activation modules (torch.nn names and defaults); all but PReLU are parameter-free.
import { F, Tensor, full } from '../../torch/index.js';
import { Module } from '../module.js';
import { checkPositive } from './linear.js';

export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(options: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.approximate = options.approximate ?? 'none';
    if (this.approximate !== 'none' && this.approximate !== 'tanh') {
      throw new TypeError(`GELU: approximate must be 'none' or 'tanh', got '${String(this.approximate)}'`);
    }
  }
  forward(x: Tensor): Tensor { return F.gelu(x, { approximate: this.approximate }); }
  override extraRepr(): string { return `approximate='${this.approximate}'`; }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor { return F.silu(x); }
}

export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  constructor(options: { negativeSlope?: number } = {}) {
    super();
    this.negativeSlope = options.negativeSlope ?? 0.01;
    checkFinite('LeakyReLU', 'negativeSlope', this.negativeSlope);
  }
  forward(x: Tensor): Tensor { return F.leakyRelu(x, this.negativeSlope); }
  override extraRepr(): string { return `negativeSlope=${this.negativeSlope}`; }
}

export class ELU extends Module {
  readonly alpha: number;
  constructor(options: { alpha?: number } = {}) {
    super();
    this.alpha = options.alpha ?? 1;
    checkFinite('ELU', 'alpha', this.alpha);
  }
  forward(x: Tensor): Tensor { return F.elu(x, this.alpha); }
  override extraRepr(): string { return `alpha=${this.alpha}`; }
}

/** max(0, x) + a · min(0, x) with a learnable slope `weight` (one, or one per channel). */
export class PReLU extends Module {
  /** The constructor's numParameters (Module.numParameters() counts parameter elements). */
  readonly numSlopes: number;
  constructor(options: { numParameters?: number; init?: number; dtype?: 'float32' | 'float64' } = {}) {
    super();
    this.numSlopes = options.numParameters ?? 1;
    checkPositive('PReLU', { numParameters: this.numSlopes });
    const init = options.init ?? 0.25;
    checkFinite('PReLU', 'init', init);
    this.registerParameter('weight', full([this.numSlopes], init, { dtype: options.dtype }));
  }
  get weight(): Tensor { return this.weightOf('weight'); }
  forward(x: Tensor): Tensor { return F.prelu(x, this.weight); }
  override extraRepr(): string { return `numParameters=${this.numSlopes}`; }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh(); }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return x.sigmoid(); }
}

export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(options: { beta?: number; threshold?: number } = {}) {
    super();
    this.beta = options.beta ?? 1;
    this.threshold = options.threshold ?? 20;
    if (this.beta === 0 || !Number.isFinite(this.beta)) throw new RangeError(`Softplus: beta must be a finite non-zero number, got ${this.beta}`);
  }
  forward(x: Tensor): Tensor { return F.softplus(x, this.beta, this.threshold); }
  override extraRepr(): string { return `beta=${this.beta}, threshold=${this.threshold}`; }
}

export class Hardswish extends Module {
  forward(x: Tensor): Tensor { return F.hardswish(x); }
}

export class Mish extends Module {
  forward(x: Tensor): Tensor { return F.mish(x); }
}

export class Softmax extends Module {
  constructor(readonly dim: number) { super(); checkDim('Softmax', dim); }
  forward(x: Tensor): Tensor { return x.softmax(this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) { super(); checkDim('LogSoftmax', dim); }
  forward(x: Tensor): Tensor { return x.logSoftmax(this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}

function checkFinite(layer: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${layer}: ${name} must be a finite number, got ${v}`);
}

function checkDim(layer: string, dim: number): void {
  if (!Number.isInteger(dim)) throw new TypeError(`${layer}: dim must be an integer, got ${dim}`);
}
