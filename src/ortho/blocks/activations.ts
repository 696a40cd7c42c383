// 1-Lipschitz activations that preserve gradient norm (or nearly): MaxMin
// and GroupSort-2 sort pairs of values, HouseHolder reflections are learned,
// Abs and SoftHuber are elementwise.
import { F, Tensor, cat, full, rand, scope, stack, where } from '../../torch/index.js';
import { Module } from '../../nn/index.js';

function checkEvenAxis(z: Tensor, axis: number, layer: string): void {
  const size = z.shape.at(axis);
  if (size === undefined || size % 2 !== 0) {
    throw new RangeError(`${layer}: dimension ${axis} must have an even size to be split in two, got shape [${z.shape.join(', ')}]`);
  }
}

function halves(z: Tensor, axis: number, layer: string): [Tensor, Tensor] {
  checkEvenAxis(z, axis, layer);
  const [a, b] = z.chunk(2, axis);
  return [a, b];
}

/** Splits the channels in two halves a, b and returns [max(a, b), min(a, b)]. The seed's activation. */
export class MaxMin extends Module {
  constructor(readonly axis = 1) { super(); }
  forward(z: Tensor): Tensor {
    checkEvenAxis(z, this.axis, 'MaxMin');
    return F.maxMin(z, this.axis);
  }
  override extraRepr(): string { return `axis=${this.axis}`; }
}

/** Sorts adjacent pairs (x₀, x₁), (x₂, x₃) … in decreasing order: GroupSort with groups of 2. */
export class GroupSort2 extends Module {
  constructor(readonly axis = 1) { super(); }
  forward(z: Tensor): Tensor {
    return scope(() => {
      const shape = z.shape;
      const axis = this.axis < 0 ? this.axis + shape.length : this.axis;
      if (shape[axis] % 2 !== 0) throw new RangeError(`GroupSort2: dimension ${this.axis} must have an even size, got ${shape[axis]}`);
      const pairs = z.unflatten(axis, [shape[axis] / 2, 2]);
      const [a, b] = pairs.unbind(axis + 1);
      return stack([a.maximum(b), a.minimum(b)], axis + 1).flatten(axis, axis + 1);
    });
  }
  override extraRepr(): string { return `axis=${this.axis}`; }
}

export class Abs extends Module {
  forward(z: Tensor): Tensor { return z.abs(); }
}

/** δ(√(1 + (z/δ)²) − 1): smooth, 1-Lipschitz, close to |z| away from 0. */
export class SoftHuber extends Module {
  constructor(readonly delta = 0.05) {
    super();
    if (!(delta > 0)) throw new RangeError(`SoftHuber: delta must be > 0, got ${delta}`);
  }
  forward(z: Tensor): Tensor {
    return scope(() => z.div(this.delta).square().add(1).sqrt().sub(1).mul(this.delta));
  }
  override extraRepr(): string { return `delta=${this.delta}`; }
}

/**
 * A learned reflection of each pair (x, y) of channel halves: pairs on one
 * side of the line at angle θ/2 are kept, the others reflected across it,
 * so the map is continuous and norm-preserving. Output divided by √2 as in
 * Orthogonium.
 */
export class HouseHolder extends Module {
  readonly theta: Tensor;

  constructor(readonly channels: number, readonly axis = 1) {
    super();
    if (!Number.isInteger(channels) || channels % 2 !== 0) throw new RangeError(`HouseHolder: channels must be even, got ${channels}`);
    this.theta = this.registerParameter('theta', full([1, channels / 2, 1, 1], Math.PI / 2));
  }

  forward(z: Tensor): Tensor {
    return scope(() => {
      const [x, y] = halves(z, this.axis, 'HouseHolder');
      const theta = this.theta;
      const selector = x.mul(theta.mul(0.5).sin()).sub(y.mul(theta.mul(0.5).cos()));
      const reflectedA = x.mul(theta.cos()).add(y.mul(theta.sin()));
      const reflectedB = x.mul(theta.sin()).sub(y.mul(theta.cos()));
      const keep = selector.le(0);
      return cat([where(keep, x, reflectedA), where(keep, y, reflectedB)], this.axis).div(Math.SQRT2);
    });
  }
}

/**
 * Order-2 HouseHolder activation: each pair is mapped by one of four
 * reflections/rotations depending on its angle, with learned angles θ₀, θ₁, θ₂.
 */
export class HouseHolderOrder2 extends Module {
  readonly theta0: Tensor;
  readonly theta1: Tensor;
  readonly theta2: Tensor;

  constructor(readonly channels: number, readonly axis = 1) {
    super();
    if (!Number.isInteger(channels) || channels % 2 !== 0) throw new RangeError(`HouseHolderOrder2: channels must be even, got ${channels}`);
    const groups = channels / 2;
    this.theta0 = this.registerParameter('theta0', scope(() => rand([groups]).mul(Math.PI)));
    this.theta1 = this.registerParameter('theta1', scope(() => rand([groups]).mul(Math.PI)));
    this.theta2 = this.registerParameter('theta2', scope(() => rand([groups]).mul(Math.PI)));
  }

  forward(z: Tensor): Tensor {
    return scope(() => {
      const [x, y] = halves(z, this.axis, 'HouseHolderOrder2');
      const angle = (t: Tensor) => t.view(1, -1, 1, 1).clamp(0, 2 * Math.PI);
      const theta0 = angle(this.theta0);
      const theta1 = angle(this.theta1);
      const theta2 = angle(this.theta2);
      const theta3 = theta1.rsub(2 * Math.PI);
      const theta4 = theta2.rsub(2 * Math.PI);
      const zTheta = y.atan2(x).sub(theta0.mul(0.5)).remainder(2 * Math.PI);
      const bound1 = theta1.mul(0.5);
      const bound2 = theta1.add(theta2).mul(0.5);
      const bound3 = theta1.add(theta2).add(theta3).mul(0.5);
      const bound4 = theta1.add(theta2).add(theta3).add(theta4).mul(0.5);
      const inRange = (lo: Tensor | number, hi: Tensor) => zTheta.ge(lo).logicalAnd(zTheta.lt(hi)).to(z.dtype);
      const s1 = inRange(0, bound1);
      const s2 = inRange(bound1, bound2);
      const s3 = inRange(bound2, bound3);
      const s4 = inRange(bound3, bound4);
      const a01 = theta0.add(theta1);
      const a = x.mul(s1)
        .add(x.mul(a01.cos()).add(y.mul(a01.sin())).mul(s2))
        .add(x.mul(theta2.cos()).add(y.mul(theta2.sin())).mul(s3))
        .add(x.mul(theta0.cos()).add(y.mul(theta0.sin())).mul(s4));
      const b = y.mul(s1)
        .add(x.mul(a01.sin()).sub(y.mul(a01.cos())).mul(s2))
        .add(y.mul(theta2.cos()).sub(x.mul(theta2.sin())).mul(s3))
        .add(x.mul(theta0.sin()).sub(y.mul(theta0.cos())).mul(s4));
      return cat([a, b], this.axis).div(Math.SQRT2);
    });
  }
}
