// Fully connected layer y = x Wᵀ + b.
import { F, Tensor, empty } from '../../torch/index.js';
import { Module } from '../module.js';
import { kaimingUniform_, uniform_ } from '../init.js';

export interface LinearOptions { bias?: boolean; dtype?: 'float32' | 'float64' }

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    checkPositive('Linear', { inFeatures, outFeatures });
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    // PyTorch's default: kaiming-uniform with a = √5, i.e. U(±1/√fanIn), for weight and bias.
    const weight = kaimingUniform_(empty([outFeatures, inFeatures], { dtype: options.dtype }), { a: Math.sqrt(5) });
    this.registerParameter('weight', weight);
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = options.bias ?? true ? this.registerParameter('bias', uniform_(empty([outFeatures], { dtype: options.dtype }), -bound, bound)) : null;
  }

  get weight(): Tensor { return this.weightOf('weight'); }

  forward(x: Tensor): Tensor {
    const last = x.shape.at(-1);
    if (last !== this.inFeatures) {
      throw new RangeError(`Linear(${this.inFeatures} → ${this.outFeatures}): input has ${last} features in its last dimension, expected ${this.inFeatures}`);
    }
    return F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string { return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`; }
}

export function checkPositive(layer: string, values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${layer}: ${name} must be a positive integer, got ${v}`);
  }
}
