// An L2 adversarial attack used to check certificates empirically. For each
// sample it looks for the smallest perturbation that changes the prediction,
// combining
//   1. a boundary walk (DeepFool-style: linearized steps toward the nearest
//      boundary among the strongest competing classes), which lands close to
//      the closest decision boundary;
//   2. projected gradient ascent (PGD) on the margin max_{i≠y} f_i − f_y
//      inside the L2 ball of each requested radius, with random restarts and
//      a decaying step size;
//   3. a few PGD rounds inside a ball slightly smaller than the best
//      adversarial found so far, warm-started from it;
//   4. a bisection along the best perturbation to the decision boundary.
// Every reported norm belongs to a perturbation that the model was actually
// seen to misclassify (and is checked again at the end), so a reported norm
// below a sample's certified radius is a real counterexample.
import { Tensor, aten, autograd, cat, enableGrad, full, keep, noGrad, ones, randnLike, rand, scope, where, withFullFloat32Precision, zeros, zerosLike } from '../torch/index.js';
import { Module } from '../nn/index.js';
import { checkEps, checkFinite, checkLabelRange, checkLabels, checkNoNaN, checkPositiveInt, describe } from './checks.js';
import { trueAndRunnerUp } from './losses.js';

export type StepSchedule = 'cosine' | 'linear' | 'constant' | ((progress: number) => number);

export interface AttackL2Options {
  /** Radius (or radii) at which success is reported and PGD is run (each > 0). */
  eps: number | number[];
  /** PGD iterations per restart (default 40). */
  steps?: number;
  /** PGD runs per radius: the first starts at the clean input, the others at random points of the ball (default 3). */
  restarts?: number;
  /** First PGD step as a fraction of the radius (default 0.5). */
  stepSize?: number;
  /** How the step decays over a run: 'cosine' (default), 'linear', 'constant', or a factor of the progress in [0, 1). */
  schedule?: StepSchedule;
  /** Boundary-walk iterations (default 30; 0 skips it). */
  boundarySteps?: number;
  /** Competing classes (the strongest by logit) whose boundaries each boundary-walk step considers (default 4). */
  boundaryClasses?: number;
  /** Relative overshoot of each boundary-walk step (default 0.02). */
  overshoot?: number;
  /** PGD rounds inside a ball shrunk around the best adversarial found (default 2; 0 skips them). */
  refineRounds?: number;
  /** Shrink factor of those rounds (default 0.9). */
  refineShrink?: number;
  /** Bisection iterations along the best perturbation (default 20; 0 skips it). */
  bisectionSteps?: number;
  /** Samples attacked at once (default: all). */
  batchSize?: number;
  /** Keep x + δ inside [min, max] (e.g. [0, 1] for images); default unconstrained, as the certificates are. */
  clip?: [number, number];
  /** Also return the adversarial inputs (x + best δ; x where none was found). */
  returnAdversarial?: boolean;
}

export interface AttackL2Result {
  /** Smallest adversarial L2 norm found per sample: 0 when misclassified already, Infinity when none found. */
  norms: number[];
  predictions: number[];
  labels: number[];
  /** Clean prediction correct. */
  correct: boolean[];
  cleanAccuracy: number;
  eps: number[];
  /** success[k][i]: an adversarial example of norm ≤ eps[k] was found for sample i. */
  success: boolean[][];
  /** Accuracy under the attack at each eps: fraction with no adversarial example of norm ≤ eps. */
  robustAccuracy: number[];
  /** With returnAdversarial: x + δ per sample, on the input's device. */
  adversarial?: Tensor;
}

const SCHEDULES: Record<string, (p: number) => number> = {
  cosine: (p) => 0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * p)),
  linear: (p) => 1 - 0.95 * p,
  constant: () => 1,
};

interface Settings {
  steps: number; restarts: number; stepSize: number; schedule: (p: number) => number;
  boundarySteps: number; boundaryClasses: number; overshoot: number; refineRounds: number; refineShrink: number; bisectionSteps: number;
  clip: [number, number] | undefined;
}

/** Runs the attack on one batch; owns its state tensors and frees them in dispose(). */
class BatchAttack {
  readonly n: number;
  readonly bshape: number[];
  bestNorm: Tensor;
  bestDelta: Tensor;
  clean: { predictions: number[] } = { predictions: [] };

  constructor(readonly model: Module, readonly x: Tensor, readonly y: Tensor, readonly s: Settings) {
    this.n = x.shape[0];
    this.bshape = [this.n, ...x.shape.slice(1).map(() => 1)];
    this.bestNorm = keep(full([this.n], Infinity, { dtype: x.dtype, device: x.device }));
    this.bestDelta = keep(zerosLike(x));
  }

  dispose(): void {
    this.bestNorm.dispose();
    this.bestDelta.dispose();
  }

  private forward(input: Tensor): Tensor {
    const out = this.model.forward(input);
    if (!(out instanceof Tensor) || out.ndim !== 2) {
      throw new TypeError(`attackL2: the model must return logits [batch, classes], got ${describe(out)}`);
    }
    return out;
  }

  /** Logits at x + δ without gradients. */
  logitsAt(delta: Tensor): Tensor {
    return noGrad(() => this.forward(this.x.add(delta)));
  }

  /** Logits, margin max_{i≠y} f_i − f_y and its gradient with respect to δ, at x + δ. */
  marginGrad(delta: Tensor): { logits: Tensor; margin: Tensor; grad: Tensor } {
    return enableGrad(() => scope(() => {
      const d = delta.detach().requiresGrad_(true);
      const logits = this.forward(this.x.add(d));
      const { fy, fOther } = trueAndRunnerUp(logits, this.y);
      const margin = fOther.sub(fy);
      const [grad] = autograd.grad(margin.sum(), d, { allowUnused: true });
      return { logits: logits.detach(), margin: margin.detach(), grad: grad ?? zerosLike(delta) };
    }));
  }

  /** Keeps δ where the prediction at x + δ is wrong and ‖δ‖ beats the best so far. */
  record(delta: Tensor, logits: Tensor): void {
    const [norm, best] = noGrad(() => scope(() => {
      const adversarial = logits.argmax(1).ne(this.y);
      const norms = delta.flatten(1).norm(2, 1).to(this.bestNorm.dtype);
      const better = adversarial.logicalAnd(norms.lt(this.bestNorm));
      return [where(better, norms, this.bestNorm), where(better.view(this.bshape), delta, this.bestDelta)];
    }));
    this.bestNorm.dispose();
    this.bestDelta.dispose();
    this.bestNorm = keep(norm);
    this.bestDelta = keep(best);
  }

  /** Projects δ onto the L2 ball of per-sample radius rho, then into the clip box. */
  private project(delta: Tensor, rho: Tensor): Tensor {
    const norm = delta.flatten(1).norm(2, 1).clampMin(1e-30);
    let d = delta.mul(rho.div(norm).clampMax(1).view(this.bshape));
    if (this.s.clip) d = this.x.add(d).clamp(this.s.clip[0], this.s.clip[1]).sub(this.x);
    return d;
  }

  private randomInBall(rho: Tensor): Tensor {
    const dir = randnLike(this.x);
    const norm = dir.flatten(1).norm(2, 1).clampMin(1e-30);
    const radius = rho.mul(rand([this.n], { dtype: rho.dtype, device: rho.device }));
    return this.project(dir.mul(radius.div(norm).view(this.bshape)), rho);
  }

  /** Clean forward pass: records misclassified samples at norm 0; returns the number of classes. */
  start(): number {
    return scope(() => {
      const zero = zerosLike(this.x);
      const logits = this.logitsAt(zero);
      checkNoNaN('attackL2', 'clean logits', logits);
      this.clean.predictions = logits.argmax(1).toFlatArray();
      this.record(zero, logits);
      return logits.shape[1];
    });
  }

  /**
   * Runs `work` on the samples selected by `mask` only (a sub-attack that
   * starts from their best results), then writes the results back. Saves the
   * forward and backward passes of samples that cannot gain anything.
   */
  onSubset(mask: Tensor, work: (sub: BatchAttack) => void): void {
    const count = noGrad(() => scope(() => mask.sum().item()));
    if (count === 0) return;
    if (count === this.n) {
      scope(() => work(this));
      return;
    }
    scope(() => {
      const index = noGrad(() => (aten('nonzero', mask) as Tensor).squeeze(1));
      const sub = new BatchAttack(this.model, this.x.indexSelect(0, index), this.y.indexSelect(0, index), this.s);
      try {
        noGrad(() => {
          sub.bestNorm.copy_(this.bestNorm.indexSelect(0, index));
          sub.bestDelta.copy_(this.bestDelta.indexSelect(0, index));
        });
        work(sub);
        const [norm, best] = noGrad(() => scope(() => {
          const rows = index.view([count, ...this.bshape.slice(1)]).expand(sub.bestDelta.shape);
          return [this.bestNorm.scatter(0, index, sub.bestNorm), this.bestDelta.scatter(0, rows, sub.bestDelta)];
        }));
        this.bestNorm.dispose();
        this.bestDelta.dispose();
        this.bestNorm = keep(norm);
        this.bestDelta = keep(best);
      } finally {
        sub.dispose();
      }
    });
  }

  /**
   * Gradients of the pairwise margins f_j − f_y for the `k` strongest other classes j at x + δ:
   * logits, margins [k][n] and gradients [k] (each shaped like x).
   */
  private pairwiseMargins(delta: Tensor, k: number): { logits: Tensor; margins: Tensor[]; grads: Tensor[] } {
    return enableGrad(() => scope(() => {
      const d = delta.detach().requiresGrad_(true);
      const logits = this.forward(this.x.add(d));
      const index = this.y.unsqueeze(1);
      const fy = logits.gather(1, index).squeeze(1);
      const others = noGrad(() => logits.detach().scatter(1, index, -Infinity).topk(k, 1).indices);
      const margins: Tensor[] = [];
      const grads: Tensor[] = [];
      for (let c = 0; c < k; c++) {
        const margin = logits.gather(1, others.narrow(1, c, 1)).squeeze(1).sub(fy);
        const [g] = autograd.grad(margin.sum(), d, { retainGraph: c < k - 1, allowUnused: true });
        margins.push(margin.detach());
        grads.push(g ?? zerosLike(delta));
      }
      return { logits: logits.detach(), margins, grads };
    }));
  }

  /**
   * DeepFool-style walk: at each step, linearize the margins of the strongest
   * competing classes and move to the nearest of their linearized
   * boundaries (slightly overshot); samples already fooled stop moving.
   */
  boundaryWalk(): void {
    let delta = keep(zerosLike(this.x));
    try {
      const classes = noGrad(() => scope(() => this.logitsAt(delta).shape[1]));
      const k = Math.max(1, Math.min(this.s.boundaryClasses, classes - 1));
      for (let t = 0; t < this.s.boundarySteps; t++) {
        const next = scope(() => {
          const { logits, margins, grads } = this.pairwiseMargins(delta, k);
          this.record(delta, logits);
          const stillCorrect = logits.argmax(1).eq(this.y);
          let bestDistance: Tensor | null = null;
          let bestStep: Tensor | null = null;
          for (let c = 0; c < k; c++) {
            const g2 = grads[c].flatten(1).pow(2).sum(1);
            const gap = margins[c].neg().clampMin(0);
            // Linearized distance to this class's boundary (Infinity where the gradient vanishes).
            const distance = where(g2.gt(0), gap.div(g2.sqrt().clampMin(1e-30)), Infinity);
            const coef = where(g2.gt(0), gap.mul(1 + this.s.overshoot).add(1e-6).div(g2.clampMin(1e-30)), 0);
            const step = grads[c].mul(coef.view(this.bshape));
            if (bestDistance === null || bestStep === null) {
              bestDistance = distance;
              bestStep = step;
            } else {
              const closer = distance.lt(bestDistance);
              bestStep = where(closer.view(this.bshape), step, bestStep);
              bestDistance = where(closer, distance, bestDistance);
            }
          }
          const move = stillCorrect.logicalAnd(bestDistance!.isfinite());
          let d = delta.add(bestStep!.mul(move.view(this.bshape).to(delta.dtype)));
          if (this.s.clip) d = this.x.add(d).clamp(this.s.clip[0], this.s.clip[1]).sub(this.x);
          return d;
        });
        delta.dispose();
        delta = keep(next);
      }
      scope(() => this.record(delta, this.logitsAt(delta)));
    } finally {
      delta.dispose();
    }
  }

  /** PGD on the margin inside the ball of per-sample radius rho (radius 0 leaves a sample alone). */
  pgd(rho: Tensor, steps: number, restarts: number, init?: Tensor): void {
    for (let r = 0; r < restarts; r++) {
      let delta = keep(scope(() => (r === 0 ? (init ? this.project(init, rho) : zerosLike(this.x)) : this.randomInBall(rho))));
      try {
        for (let t = 0; t < steps; t++) {
          const alpha = this.s.stepSize * this.s.schedule(t / steps);
          const next = scope(() => {
            const { logits, grad } = this.marginGrad(delta);
            this.record(delta, logits);
            const gnorm = grad.flatten(1).norm(2, 1).clampMin(1e-30);
            const step = grad.mul(rho.mul(alpha).div(gnorm).view(this.bshape));
            return this.project(delta.add(step), rho);
          });
          delta.dispose();
          delta = keep(next);
        }
        scope(() => this.record(delta, this.logitsAt(delta)));
      } finally {
        delta.dispose();
      }
    }
  }

  /** PGD inside a ball a little smaller than the best adversarial found, starting from it (fooled samples only). */
  refine(): void {
    for (let round = 0; round < this.s.refineRounds; round++) {
      const found = keep(noGrad(() => this.bestNorm.isfinite().logicalAnd(this.bestNorm.gt(0))));
      try {
        this.onSubset(found, (sub) => scope(() => {
          const rho = sub.bestNorm.mul(this.s.refineShrink);
          const init = sub.bestDelta.mul(this.s.refineShrink);
          sub.pgd(rho, Math.max(1, Math.ceil(this.s.steps / 2)), 1, init);
        }));
      } finally {
        found.dispose();
      }
    }
  }

  /** PGD at radius eps on the samples not yet fooled within eps. */
  pgdAt(eps: number): void {
    const open = keep(noGrad(() => this.bestNorm.gt(eps)));
    try {
      this.onSubset(open, (sub) => scope(() => sub.pgd(full([sub.n], eps, { dtype: sub.x.dtype, device: sub.x.device }), this.s.steps, this.s.restarts)));
    } finally {
      open.dispose();
    }
  }

  /** Bisection on t ∈ [0, 1] along the best perturbation (fooled samples only): the crossing closest to x it can find. */
  bisect(): void {
    if (this.s.bisectionSteps <= 0) return;
    const found = keep(noGrad(() => this.bestNorm.isfinite().logicalAnd(this.bestNorm.gt(0))));
    try {
      this.onSubset(found, (sub) => sub.bisectAll());
    } finally {
      found.dispose();
    }
  }

  private bisectAll(): void {
    const dir = keep(this.bestDelta.clone());
    let lo = keep(zeros([this.n], { dtype: this.x.dtype, device: this.x.device }));
    let hi = keep(ones([this.n], { dtype: this.x.dtype, device: this.x.device }));
    try {
      for (let k = 0; k < this.s.bisectionSteps; k++) {
        const [nextLo, nextHi] = scope(() => {
          const mid = lo.add(hi).div(2);
          const d = dir.mul(mid.view(this.bshape));
          const logits = this.logitsAt(d);
          this.record(d, logits);
          const adversarial = logits.argmax(1).ne(this.y);
          return [where(adversarial, lo, mid), where(adversarial, mid, hi)];
        });
        lo.dispose();
        hi.dispose();
        lo = keep(nextLo);
        hi = keep(nextHi);
      }
    } finally {
      dir.dispose();
      lo.dispose();
      hi.dispose();
    }
  }

  /** Checks the best perturbations once more; any that no longer fools the model is dropped (norm Infinity). */
  verify(): number[] {
    return scope(() => {
      const logits = this.logitsAt(this.bestDelta);
      const adversarial = logits.argmax(1).ne(this.y);
      return where(adversarial, this.bestNorm, Infinity).toFlatArray();
    });
  }
}

function settingsFrom(options: AttackL2Options): { eps: number[]; batchSize: number | undefined; returnAdversarial: boolean; s: Settings } {
  const where = 'attackL2';
  if (options === undefined || options === null) throw new TypeError(`${where}: options { eps } are required`);
  const eps = typeof options.eps === 'number' ? [options.eps] : options.eps;
  if (!Array.isArray(eps) || eps.length === 0) throw new TypeError(`${where}: eps must be a radius or a non-empty array of radii, got ${describe(options.eps)}`);
  eps.forEach((e, i) => checkEps(where, e, `eps[${i}]`));
  const {
    steps = 40, restarts = 3, stepSize = 0.5, schedule = 'cosine', boundarySteps = 30, boundaryClasses = 4, overshoot = 0.02,
    refineRounds = 2, refineShrink = 0.9, bisectionSteps = 20, batchSize, clip, returnAdversarial = false,
  } = options;
  checkPositiveInt(where, 'steps', steps, 0);
  checkPositiveInt(where, 'restarts', restarts, 0);
  checkPositiveInt(where, 'boundarySteps', boundarySteps, 0);
  checkPositiveInt(where, 'boundaryClasses', boundaryClasses, 1);
  checkPositiveInt(where, 'refineRounds', refineRounds, 0);
  checkPositiveInt(where, 'bisectionSteps', bisectionSteps, 0);
  if (batchSize !== undefined) checkPositiveInt(where, 'batchSize', batchSize);
  checkFinite(where, 'stepSize', stepSize);
  if (stepSize <= 0) throw new RangeError(`${where}: stepSize must be > 0, got ${stepSize}`);
  checkFinite(where, 'overshoot', overshoot, 0);
  checkFinite(where, 'refineShrink', refineShrink);
  if (!(refineShrink > 0 && refineShrink < 1)) throw new RangeError(`${where}: refineShrink must be in (0, 1), got ${refineShrink}`);
  const scheduleFn = typeof schedule === 'function' ? schedule : SCHEDULES[schedule as string];
  if (!scheduleFn) throw new TypeError(`${where}: schedule must be 'cosine', 'linear', 'constant' or a function, got ${describe(schedule)}`);
  if (clip !== undefined && (!Array.isArray(clip) || clip.length !== 2 || !(clip[0] < clip[1]))) {
    throw new RangeError(`${where}: clip must be [min, max] with min < max, got ${describe(clip)}`);
  }
  return {
    eps, batchSize, returnAdversarial,
    s: { steps, restarts, stepSize, schedule: scheduleFn, boundarySteps, boundaryClasses, overshoot, refineRounds, refineShrink, bisectionSteps, clip },
  };
}

/**
 * Searches, for every sample, the smallest L2 perturbation that changes the
 * model's prediction. The model runs in eval mode (its mode is restored
 * afterwards); gradients are taken with respect to the input only.
 */
export function attackL2(model: Module, x: Tensor, y: Tensor, options: AttackL2Options): AttackL2Result {
  const where = 'attackL2';
  if (!(model instanceof Module)) throw new TypeError(`${where}: model must be a Module, got ${describe(model)}`);
  if (!(x instanceof Tensor) || x.ndim < 2) throw new TypeError(`${where}: x must be a Tensor [batch, ...], got ${describe(x)}`);
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new TypeError(`${where}: x must be float32 or float64, got ${x.dtype}`);
  checkLabels(where, y, x.shape[0]);
  const { eps, batchSize, returnAdversarial, s } = settingsFrom(options);
  if (s.clip) {
    const outside = noGrad(() => scope(() => x.lt(s.clip![0]).logicalOr(x.gt(s.clip![1])).sum().item()));
    if (outside > 0) throw new RangeError(`${where}: ${outside} input values lie outside clip [${s.clip[0]}, ${s.clip[1]}]`);
  }

  const n = x.shape[0];
  const norms: number[] = [];
  const predictions: number[] = [];
  const adversarialParts: Tensor[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    // Full float32 on a GPU, as certify(): a TF32 forward could show a flip the exact network does not make.
    withFullFloat32Precision(() => {
      const size = batchSize ?? Math.max(1, n);
      for (let start = 0; start < n; start += size) {
        const len = Math.min(size, n - start);
        scope(() => {
          const xb = x.narrow(0, start, len).detach();
          const yb = y.narrow(0, start, len).to({ dtype: 'int64', device: x.device });
          const attack = new BatchAttack(model, xb, yb, s);
          try {
            const classes = attack.start();
            checkLabelRange(where, yb, classes);
            if (s.boundarySteps > 0) attack.boundaryWalk();
            if (s.restarts > 0 && s.steps > 0) for (const e of eps) attack.pgdAt(e);
            if (s.steps > 0) attack.refine();
            attack.bisect();
            norms.push(...attack.verify());
            predictions.push(...attack.clean.predictions);
            if (returnAdversarial) adversarialParts.push(keep(xb.add(attack.bestDelta)));
          } finally {
            attack.dispose();
          }
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }

  const labels = noGrad(() => y.toFlatArray());
  const correct = predictions.map((p, i) => p === labels[i]);
  const frac = (k: number): number => (n === 0 ? NaN : k / n);
  const success = eps.map((e) => norms.map((r) => r <= e));
  let adversarial: Tensor | undefined;
  if (returnAdversarial) {
    if (adversarialParts.length === 1) adversarial = adversarialParts[0];
    else {
      adversarial = noGrad(() => (adversarialParts.length === 0 ? x.detach().clone() : cat(adversarialParts)));
      adversarialParts.forEach((t) => t.dispose());
    }
  }
  return {
    norms,
    predictions,
    labels,
    correct,
    cleanAccuracy: frac(correct.filter(Boolean).length),
    eps,
    success,
    robustAccuracy: success.map((row) => frac(row.filter((hit) => !hit).length)),
    ...(adversarial ? { adversarial } : {}),
  };
}
