// Residual connections that stay 1-Lipschitz when the branch `fn` is.
import { Tensor, cat, scalarTensor, scope } from '../../torch/index.js';
import { Module } from '../../nn/index.js';

/** A branch: any module mapping one tensor to one tensor. */
export interface Branch extends Module { forward(x: Tensor): Tensor }

/** A residual around `fn` with one learned scalar `alpha`. */
abstract class ScalarResidual extends Module {
  readonly alpha: Tensor;
  constructor(readonly fn: Branch, initValue: number) {
    super();
    this.registerModule('fn', fn);
    this.alpha = this.registerParameter('alpha', scalarTensor(initValue));
  }
  abstract override forward(x: Tensor): Tensor;
}

/** x ↦ σ(α)·x + (1 − σ(α))·fn(x): a learned convex combination. */
export class AdditiveResidual extends ScalarResidual {
  constructor(fn: Branch, initValue = 1.0) { super(fn, initValue); }
  forward(x: Tensor): Tensor {
    return scope(() => {
      const gate = this.alpha.sigmoid();
      return x.mul(gate).add(this.fn.forward(x).mul(gate.rsub(1)));
    });
  }
}

/** x ↦ (x + fn(α·x)) / (1 + |α|): the branch sees a scaled input, the sum is rescaled. */
export class PrescaledAdditiveResidual extends ScalarResidual {
  constructor(fn: Branch, initValue = 1.0) { super(fn, initValue); }
  forward(x: Tensor): Tensor {
    return scope(() => {
      const out = this.fn.forward(x.mul(this.alpha));
      const lipschitz = this.alpha.abs().add(1);
      // One sum then one in-place division: two passes over the activations instead of three.
      return x.add(out).div_(lipschitz);
    });
  }
}

/** Splits the channels in two halves x₁, x₂ and returns [x₁, fn(x₂)]. */
export class ConcatResidual extends Module {
  constructor(readonly fn: Branch) {
    super();
    this.registerModule('fn', fn);
  }
  forward(x: Tensor): Tensor {
    return scope(() => {
      const [kept, processed] = x.chunk(2, 1);
      return cat([kept, this.fn.forward(processed)], 1);
    });
  }
}

/** x ↦ √(x²/2 + fn(x)²/2 + ε), elementwise. */
export class L2NormResidual extends Module {
  constructor(readonly fn: Branch, readonly eps = 1e-6) {
    super();
    this.registerModule('fn', fn);
  }
  forward(x: Tensor): Tensor {
    return scope(() => x.square().mul(0.5).add(this.fn.forward(x).square().mul(0.5)).add(this.eps).sqrt());
  }
}
