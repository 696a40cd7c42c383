// L-BFGS, step for step as torch.optim.LBFGS of PyTorch 1.13 (itself after
// minFunc and Lua torch's optim): every parameter is seen as one flat vector;
// each step() runs up to maxIter quasi-Newton iterations, calling the closure
// for the loss and its gradient, with a fixed step or a strong-Wolfe line
// search (bracketing, then zooming by cubic interpolation).
//
// Scalars (step sizes, curvature pairs' inner products, the initial Hessian
// scale) are JS numbers, i.e. doubles: with float64 parameters this is exactly
// PyTorch's arithmetic on its 0-d float64 tensors; with float32 parameters
// PyTorch rounds those scalars to float32 and the two drift apart by rounding.
import { enableGrad, noGrad } from '../torch/autograd.js';
import { cat, zeros } from '../torch/creation.js';
import { keep, scope } from '../torch/scope.js';
import { Tensor } from '../torch/tensor.js';
import { Optimizer, ParamGroup, ParamGroupSpec, ParamState, StateValue } from './optimizer.js';
import { check, checkNumber, sameShape } from './util.js';

export type LBFGSLineSearch = 'strong_wolfe';

export interface LBFGSHyper {
  lr: number;
  /** Quasi-Newton iterations per step() at most. */
  maxIter: number;
  /** Closure calls per step() at most (checked after each iteration); PyTorch's default is floor(maxIter * 5 / 4). */
  maxEval: number;
  /** Stop when the largest gradient entry is at most this. */
  toleranceGrad: number;
  /** Stop when the step, or the change of the loss, falls below this. */
  toleranceChange: number;
  /** How many curvature pairs (s, y) the inverse-Hessian approximation remembers. */
  historySize: number;
  /** null: a fixed step of lr; 'strong_wolfe': a line search (from lr) satisfying the strong Wolfe conditions. */
  lineSearchFn: LBFGSLineSearch | null;
}
export type LBFGSOptions = Partial<LBFGSHyper>;

/** What the closure returns: the loss, as a one-element tensor or a number. */
export type LBFGSLoss = Tensor | number;

/** The loss and flat gradient at one trial point. */
interface Evaluation { loss: number; grad: Tensor }

const isCount = (v: unknown, min: number): boolean => Number.isInteger(v) && (v as number) >= min;

/**
 * torch.optim.LBFGS. One parameter group only. step() needs a closure that
 * clears the gradients, computes the loss, calls backward() and returns the
 * loss; it may be called several times per step:
 *
 *     opt.step(() => { opt.zeroGrad(); const loss = f(); loss.backward(); return loss; });
 *
 * The whole state lives under the first parameter, in PyTorch's layout
 * (lists of tensors for the history). Like every optimizer's, stateDict()
 * shares the optimizer's tensors; with L-BFGS they last only until the next
 * step() (which replaces d and frees the history pairs it drops), so save
 * or load a state dict before stepping again.
 */
export class LBFGS extends Optimizer<LBFGSHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<LBFGSHyper>>, options: LBFGSOptions = {}) {
    const maxIter = options.maxIter ?? 20;
    super(params, {
      lr: options.lr ?? 1,
      maxIter,
      maxEval: options.maxEval ?? Math.floor((maxIter * 5) / 4),
      toleranceGrad: options.toleranceGrad ?? 1e-7,
      toleranceChange: options.toleranceChange ?? 1e-9,
      historySize: options.historySize ?? 100,
      lineSearchFn: options.lineSearchFn ?? null,
    });
  }

  /** Its line search evaluates the loss several times per step: a trainer hands it the whole training step as the closure. */
  override get requiresClosure(): boolean { return true; }

  /** L-BFGS optimizes one flat vector: a second group (per-parameter options) is refused, as in PyTorch. */
  override addParamGroup(spec: ParamGroupSpec<LBFGSHyper>): void {
    if (this.paramGroups.length > 0) {
      throw new TypeError(`${this.name} doesn't support per-parameter options (parameter groups): give it one list of parameters or a single group`);
    }
    super.addParamGroup(spec);
  }

  protected validate(h: LBFGSHyper): void {
    const where = this.name;
    checkNumber(h.lr, 'learning rate', where);
    check(isCount(h.maxIter, 1), where, `invalid maxIter ${String(h.maxIter)}: expected an integer >= 1`);
    check(isCount(h.maxEval, 1), where, `invalid maxEval ${String(h.maxEval)}: expected an integer >= 1`);
    checkNumber(h.toleranceGrad, 'toleranceGrad value', where);
    checkNumber(h.toleranceChange, 'toleranceChange value', where);
    check(isCount(h.historySize, 1), where, `invalid historySize ${String(h.historySize)}: expected an integer >= 1`);
    check(h.lineSearchFn === null || h.lineSearchFn === 'strong_wolfe', where,
      `invalid lineSearchFn ${JSON.stringify(h.lineSearchFn)}: expected null or 'strong_wolfe'`);
  }

  /** Never called: step() is L-BFGS's own. */
  protected updateGroup(): void {
    throw new Error(`${this.name}: updateGroup is not used; step(closure) does the work`);
  }

  private get params(): Tensor[] { return this.paramGroups[0].params; }

  /** The number of elements of all parameters together (the length of the flat vectors). */
  private get numel(): number { return this.params.reduce((n, p) => n + p.numel(), 0); }

  /**
   * Runs up to maxIter L-BFGS iterations. `closure` must recompute the loss
   * with gradients (zero them, forward, backward) and return it; it is
   * called with grad enabled, at least once. Returns the closure's first
   * result (the loss before the step), as PyTorch does. Tensors the closure
   * creates are freed when step() returns, except that first result, which
   * goes to the caller's scope.
   */
  override step<T extends LBFGSLoss>(closure: () => T): T;
  /** Without a closure L-BFGS cannot run: throws a TypeError (this form exists for code typed with Optimizer). */
  override step(closure?: undefined): never;
  override step<T extends LBFGSLoss>(closure?: () => T): T {
    this.assertAlive();
    if (typeof closure !== 'function') {
      throw new TypeError(`${this.name}.step needs a closure that clears the gradients, computes the loss, calls backward() and returns the loss ` +
        '(L-BFGS evaluates it several times per step): opt.step(() => { opt.zeroGrad(); const loss = f(); loss.backward(); return loss; })');
    }
    return scope(() => noGrad(() => this.iterate(this.paramGroups[0], closure)));
  }

  private iterate<T extends LBFGSLoss>(group: ParamGroup<LBFGSHyper>, closure: () => T): T {
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange, lineSearchFn, historySize } = group;
    // PyTorch keeps L-BFGS's global state under the first parameter (so that load_state_dict casts it).
    const state = this.stateOf(this.params[0]);
    if (state.func_evals === undefined) state.func_evals = 0;
    if (state.n_iter === undefined) state.n_iter = 0;

    const origLoss = scope(() => enableGrad(closure));
    let loss = this.lossValue(origLoss);
    let currentEvals = 1;
    state.func_evals = (state.func_evals as number) + 1;

    let flatGrad = this.gatherFlatGrad();
    let optCond = maxAbs(flatGrad) <= toleranceGrad;
    if (optCond) return origLoss; // already optimal

    // Carried over from the previous step.
    const savedD = state.d as Tensor | undefined;
    let d = savedD;
    let t = state.t as number;
    let oldDirs = state.old_dirs as Tensor[];
    let oldStps = state.old_stps as Tensor[];
    let ro = state.ro as number[];
    let hDiag = state.H_diag as number;
    let prevFlatGrad = (state.prev_flat_grad ?? null) as Tensor | null;
    let prevLoss = state.prev_loss as number;

    // A new direction replaces the previous one, which is freed unless the state still holds it.
    const setDirection = (next: Tensor): void => {
      if (d !== undefined && d !== savedD) d.dispose();
      d = next;
    };
    const setGrad = (next: Tensor): void => {
      if (next !== flatGrad) flatGrad.dispose();
      flatGrad = next;
    };

    let nIter = 0;
    while (nIter < maxIter) {
      nIter += 1;
      state.n_iter = (state.n_iter as number) + 1;

      // ---- the search direction ----
      if (state.n_iter === 1) {
        setDirection(flatGrad.neg());
        // A fresh history (the state takes the lists now, so that an error later leaves nothing unowned).
        replaceState(state, { old_dirs: [], old_stps: [], ro: [] });
        oldDirs = state.old_dirs as Tensor[];
        oldStps = state.old_stps as Tensor[];
        ro = state.ro as number[];
        hDiag = 1;
      } else {
        // Remember the newest curvature pair when it has positive curvature.
        const y = flatGrad.sub(prevFlatGrad!);
        const s = d!.mul(t);
        const ys = dotValue(y, s);
        if (ys > 1e-10) {
          // PyTorch drops one pair when the history is exactly full; dropping down to historySize - 1 is the same there,
          // and also bounds a history left longer by a historySize lowered later.
          while (oldDirs.length >= historySize) {
            oldDirs.shift()!.dispose();
            oldStps.shift()!.dispose();
            ro.shift();
          }
          oldDirs.push(keep(y));
          oldStps.push(keep(s));
          ro.push(1 / ys);
          hDiag = ys / dotValue(y, y); // scale of the initial inverse Hessian
        } else {
          y.dispose();
          s.dispose();
        }

        // Two-loop recursion: the approximate inverse Hessian times minus the gradient, in one buffer.
        const numOld = oldDirs.length;
        if (!Array.isArray(state.al)) state.al = new Array<null>(historySize).fill(null);
        const al = state.al as number[];
        const q = flatGrad.neg();
        for (let i = numOld - 1; i >= 0; i--) {
          al[i] = dotValue(oldStps[i], q) * ro[i];
          q.add_(oldDirs[i], -al[i]);
        }
        const r = q.mul(hDiag);
        q.dispose();
        for (let i = 0; i < numOld; i++) {
          const be = dotValue(oldDirs[i], r) * ro[i];
          r.add_(oldStps[i], al[i] - be);
        }
        setDirection(r);
      }

      if (prevFlatGrad === null) {
        prevFlatGrad = keep(flatGrad.clone());
        state.prev_flat_grad = prevFlatGrad;
      } else {
        prevFlatGrad.copy_(flatGrad);
      }
      prevLoss = loss;

      // ---- the step length ----
      // The first iteration ever starts small (the gradient's size is unknown); later ones from lr.
      // (In PyTorch the first is a 0-d tensor when 1 / |g|_1 < 1, else a float: see StepLength.)
      let tIsTensor = false;
      if (state.n_iter === 1) {
        const inverse = 1 / absSum(flatGrad);
        tIsTensor = inverse < 1;
        t = pyMin(1, inverse) * lr;
      } else {
        t = lr;
      }
      const dir = d!;
      const gtd = dotValue(flatGrad, dir); // directional derivative
      if (gtd > -toleranceChange) break; // not a descent direction (to tolerance)

      let lsFuncEvals = 0;
      if (lineSearchFn !== null) {
        const xInit = this.params.map((p) => p.clone());
        // PyTorch does not pass tolerance_change to its line search, which keeps its own default (1e-9).
        const found = strongWolfe((step) => this.directionalEvaluate(closure, xInit, step, dir), { v: t, tensor: tIsTensor }, dir, loss, flatGrad, gtd);
        xInit.forEach((x) => x.dispose());
        loss = found.loss;
        setGrad(found.grad);
        t = found.t;
        lsFuncEvals = found.evals;
        this.addGrad(t, dir);
        optCond = maxAbs(flatGrad) <= toleranceGrad;
      } else {
        this.addGrad(t, dir);
        // A fixed step re-evaluates, except after the last iteration (its loss would go unused).
        if (nIter !== maxIter) {
          const e = this.evaluate(closure);
          loss = e.loss;
          setGrad(e.grad);
          optCond = maxAbs(flatGrad) <= toleranceGrad;
          lsFuncEvals = 1;
        }
      }
      currentEvals += lsFuncEvals;
      state.func_evals = (state.func_evals as number) + lsFuncEvals;

      // ---- stopping rules ----
      if (nIter === maxIter) break;
      if (currentEvals >= maxEval) break;
      if (optCond) break;
      if (scope(() => maxAbs(dir.mul(t))) <= toleranceChange) break; // the step is negligible
      if (Math.abs(loss - prevLoss) < toleranceChange) break; // so is the change of the loss
    }

    replaceState(state, { d: keep(d!) });
    Object.assign(state, { t, H_diag: hDiag, prev_loss: prevLoss });
    return origLoss;
  }

  /** The loss as a number, or an error saying what the closure returned instead. */
  private lossValue(value: unknown): number {
    if (typeof value === 'number') return value;
    if (value instanceof Tensor && value.numel() === 1) return value.item();
    const what = value instanceof Tensor ? `a tensor of shape [${value.shape.join(', ')}]` : value === null ? 'null' : `a ${typeof value}`;
    throw new TypeError(`${this.name}.step: the closure must return the loss as a one-element Tensor or a number, got ${what}`);
  }

  /** Calls the closure (grad enabled) and gathers the gradient; the closure's tensors are freed. */
  private evaluate(closure: () => LBFGSLoss): Evaluation {
    let loss = NaN;
    const grad = scope(() => {
      loss = this.lossValue(enableGrad(closure));
      return this.gatherFlatGrad();
    });
    return { loss, grad };
  }

  /** The loss and gradient at x + step * dir; the parameters are put back to x afterwards. */
  private directionalEvaluate(closure: () => LBFGSLoss, x: Tensor[], step: number, dir: Tensor): Evaluation {
    this.addGrad(step, dir);
    const e = this.evaluate(closure);
    this.params.forEach((p, i) => p.copy_(x[i]));
    return e;
  }

  /** All gradients as one flat vector (a new tensor); a parameter without gradient contributes zeros. */
  private gatherFlatGrad(): Tensor {
    return scope(() => cat(this.params.map((p) => {
      const g = p.grad;
      return g === null ? zeros([p.numel()], { dtype: p.dtype, device: p.device }) : g.reshape(-1);
    })));
  }

  /** params += step * update, the flat update cut into the parameters' shapes. */
  private addGrad(step: number, update: Tensor): void {
    scope(() => {
      let offset = 0;
      for (const p of this.params) {
        const n = p.numel();
        p.add_(update.narrow(0, offset, n).view(p.shape), step);
        offset += n;
      }
    });
  }

  /**
   * L-BFGS's state entries: the flat vectors (d, prev_flat_grad, and the
   * lists old_dirs, old_stps) have the parameters' total size rather than the
   * first parameter's shape; scalars may come as 0-d tensors (PyTorch keeps
   * t, H_diag, ro and al as tensors) and become numbers.
   */
  protected override restoreStateValue(p: Tensor, name: string, value: unknown, where: string): StateValue {
    const n = this.numel;
    const flat = (v: unknown, label: string): Tensor => {
      if (!(v instanceof Tensor)) throw new TypeError(`${where}: '${label}' is not a tensor`);
      if (!sameShape(v.shape, [n])) {
        throw new RangeError(`${where}: '${label}' has shape [${v.shape.join(', ')}] but the parameters have ${n} elements in all (expected [${n}])`);
      }
      return v.to({ dtype: p.dtype, device: p.device, copy: true });
    };
    const scalar = (v: unknown, label: string, nullable = false): number | null => {
      if (typeof v === 'number') return v;
      if (v instanceof Tensor && v.numel() === 1) return v.item();
      if (v === null && nullable) return null;
      throw new TypeError(`${where}: '${label}' is not a number`);
    };
    const list = (v: unknown): unknown[] => {
      if (!Array.isArray(v)) throw new TypeError(`${where}: '${name}' is not a list`);
      return v;
    };
    switch (name) {
      case 'func_evals':
      case 'n_iter': {
        const count = scalar(value, name);
        if (!isCount(count, 0)) throw new RangeError(`${where}: '${name}' is ${String(count)}, expected an integer >= 0`);
        return count;
      }
      case 't':
      case 'H_diag':
      case 'prev_loss':
        return scalar(value, name, true);
      case 'd':
      case 'prev_flat_grad':
        return value === null ? null : flat(value, name);
      case 'old_dirs':
      case 'old_stps':
        return list(value).map((v, i) => flat(v, `${name}[${i}]`));
      case 'ro':
        return list(value).map((v, i) => scalar(v, `${name}[${i}]`));
      case 'al':
        return list(value).map((v, i) => scalar(v, `${name}[${i}]`, true));
      default:
        return super.restoreStateValue(p, name, value, where);
    }
  }

  /** Also checks that a restored state can continue: once an iteration ran, the history and direction are all there. */
  protected override restoreEntry(p: Tensor, entry: unknown, where: string): ParamState {
    const out = super.restoreEntry(p, entry, where);
    const lengths = ['old_dirs', 'old_stps', 'ro'].filter((k) => k in out).map((k) => (out[k] as unknown[]).length);
    if (new Set(lengths).size > 1) throw new RangeError(`${where}: 'old_dirs', 'old_stps' and 'ro' must have the same length`);
    if (typeof out.n_iter === 'number' && out.n_iter > 0) {
      const missing = ['d', 't', 'old_dirs', 'old_stps', 'ro', 'H_diag', 'prev_flat_grad', 'prev_loss'].filter((k) => out[k] === undefined || out[k] === null);
      if (missing.length > 0) throw new RangeError(`${where}: after ${out.n_iter} iterations the L-BFGS state needs ${missing.map((k) => `'${k}'`).join(', ')}`);
    }
    return out;
  }
}

/** Puts values in the state, freeing the tensors of the values they replace (unless still in use). */
function replaceState(state: ParamState, values: ParamState): void {
  const keepAlive = new Set<Tensor>();
  const collect = (v: StateValue | undefined, into: Set<Tensor>): void => {
    if (v instanceof Tensor) into.add(v);
    else if (Array.isArray(v)) v.forEach((x) => collect(x, into));
  };
  Object.values(values).forEach((v) => collect(v, keepAlive));
  const old = new Set<Tensor>();
  for (const key of Object.keys(values)) collect(state[key], old);
  Object.assign(state, values);
  for (const t of old) if (!keepAlive.has(t)) t.dispose();
}

/** Python's min(a, b): a unless b < a (so NaN handling follows PyTorch's code). */
const pyMin = (a: number, b: number): number => (b < a ? b : a);

function dotValue(a: Tensor, b: Tensor): number {
  const r = a.dot(b);
  try { return r.item(); } finally { r.dispose(); }
}

const maxAbs = (x: Tensor): number => scope(() => x.abs().max().item());
const absSum = (x: Tensor): number => scope(() => x.abs().sum().item());

/**
 * A step length as PyTorch's line search holds it: a Python float or a 0-d
 * tensor (the first trial of a run is a tensor, and results of the cubic
 * interpolation mostly are). The kind matters in one place: Python computes
 * float / tensor as reciprocal(tensor) * float, which can round differently
 * from a division; tracking it keeps the search bit for bit PyTorch's.
 * (An integer lr makes Python ints, taken here as doubles: they differ only
 * beyond 2^53.)
 */
interface StepLength { v: number; tensor: boolean }

const float = (v: number): StepLength => ({ v, tensor: false });

/**
 * The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1
 * and g2, clamped to bounds (default: between x1 and x2); the middle of the
 * bounds when the cubic has no minimizer.
 */
function cubicInterpolate(x1: StepLength, f1: number, g1: number, x2: StepLength, f2: number, g2: number,
  bounds?: [StepLength, StepLength]): StepLength {
  const [lo, hi] = bounds ?? (x1.v <= x2.v ? [x1, x2] : [x2, x1]);
  // The losses are floats and the slopes tensors in PyTorch.
  const rise = 3 * (f1 - f2);
  const run = x1.v - x2.v;
  const d1 = g1 + g2 - (x1.tensor || x2.tensor ? (1 / run) * rise : rise / run);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos = x1.v <= x2.v
      ? x2.v - (x2.v - x1.v) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
      : x1.v - (x1.v - x2.v) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    // Python's min(max(min_pos, lo), hi) returns one of its arguments (min_pos a tensor), kind and all.
    const atLeastLo = lo.v > minPos ? lo : { v: minPos, tensor: true };
    return hi.v < atLeastLo.v ? hi : atLeastLo;
  }
  return { v: (lo.v + hi.v) / 2, tensor: lo.tensor || hi.tensor };
}

/**
 * A step length along d satisfying the strong Wolfe conditions (sufficient
 * decrease c1, curvature c2), from the trial t: widen until a bracket holds
 * an acceptable point, then shrink it by safeguarded cubic interpolation.
 * `evaluate(t)` gives the loss and (new) flat gradient at x + t d. Returns
 * the loss, gradient and t of the best point and the number of evaluations;
 * the gradient is one `evaluate` made (the others are freed) or `g` itself.
 */
function strongWolfe(evaluate: (t: number) => Evaluation, tInit: StepLength, d: Tensor, f: number, g: Tensor, gtd: number,
  c1 = 1e-4, c2 = 0.9, toleranceChange = 1e-9, maxLs = 25): { loss: number; grad: Tensor; t: number; evals: number } {
  let t = tInit;
  const dNorm = maxAbs(d);
  let made: Tensor[] = [];
  // Frees the gradients this search made that none of `live` is.
  const release = (live: Tensor[]): void => {
    made = made.filter((x) => {
      if (live.includes(x)) return true;
      x.dispose();
      return false;
    });
  };
  const trial = (step: StepLength): Evaluation => {
    const e = evaluate(step.v);
    made.push(e.grad);
    return e;
  };

  let { loss: fNew, grad: gNew } = trial(t);
  let evals = 1;
  let gtdNew = dotValue(gNew, d);

  // ---- bracketing: an interval that contains a point satisfying the conditions ----
  let tPrev = float(0);
  let fPrev = f;
  let gPrev = g;
  let gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: StepLength[] = [];
  let bracketF: number[] = [];
  let bracketG: Tensor[] = [];
  let bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t.v * gtd || (lsIter > 1 && fNew >= fPrev)) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      [bracket, bracketF, bracketG] = [[t], [fNew], [gNew]];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    // Extrapolate: the cubic's minimizer, between a little past t and ten times t.
    const minStep = { v: t.v + 0.01 * (t.v - tPrev.v), tensor: t.tensor || tPrev.tensor };
    const maxStep = { v: t.v * 10, tensor: t.tensor };
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = tmp;
    fPrev = fNew;
    gPrev = gNew;
    gtdPrev = gtdNew;
    ({ loss: fNew, grad: gNew } = trial(t));
    evals += 1;
    gtdNew = dotValue(gNew, d);
    lsIter += 1;
    release([gPrev, gNew]);
  }
  if (lsIter === maxLs) {
    // Out of trials: the bracket is [0, t].
    [bracket, bracketF, bracketG] = [[float(0), t], [f, fNew], [g, gNew]];
  }

  // ---- zoom: shrink the bracket until a point satisfies the conditions ----
  let insufProgress = false;
  let [lowPos, highPos] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1].v - bracket[0].v) * dNorm < toleranceChange) break; // the bracket is too small

    t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);
    // Safeguard: a trial too close to an end of the bracket (twice in a row, or at or past an end)
    // moves to a tenth of the bracket's width from that end. (Python's max and min of the list.)
    const top = bracket[1].v > bracket[0].v ? bracket[1] : bracket[0];
    const bottom = bracket[1].v < bracket[0].v ? bracket[1] : bracket[0];
    const eps = { v: 0.1 * (top.v - bottom.v), tensor: top.tensor || bottom.tensor };
    if (pyMin(top.v - t.v, t.v - bottom.v) < eps.v) {
      if (insufProgress || t.v >= top.v || t.v <= bottom.v) {
        t = Math.abs(t.v - top.v) < Math.abs(t.v - bottom.v)
          ? { v: top.v - eps.v, tensor: top.tensor || eps.tensor }
          : { v: bottom.v + eps.v, tensor: bottom.tensor || eps.tensor };
        insufProgress = false;
      } else {
        insufProgress = true;
      }
    } else {
      insufProgress = false;
    }

    ({ loss: fNew, grad: gNew } = trial(t));
    evals += 1;
    gtdNew = dotValue(gNew, d);
    lsIter += 1;

    if (fNew > f + c1 * t.v * gtd || fNew >= bracketF[lowPos]) {
      // No sufficient decrease, or not below the low end: the trial becomes the high end.
      bracket[highPos] = t;
      bracketF[highPos] = fNew;
      bracketG[highPos] = gNew;
      bracketGtd[highPos] = gtdNew;
      [lowPos, highPos] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        done = true; // the strong Wolfe conditions hold
      } else if (gtdNew * (bracket[highPos].v - bracket[lowPos].v) >= 0) {
        // The old low end becomes the high end.
        bracket[highPos] = bracket[lowPos];
        bracketF[highPos] = bracketF[lowPos];
        bracketG[highPos] = bracketG[lowPos];
        bracketGtd[highPos] = bracketGtd[lowPos];
      }
      // The trial becomes the low end.
      bracket[lowPos] = t;
      bracketF[lowPos] = fNew;
      bracketG[lowPos] = gNew;
      bracketGtd[lowPos] = gtdNew;
    }
    release(bracketG);
  }

  const grad = bracketG[lowPos];
  release([grad]);
  return { loss: bracketF[lowPos], grad, t: bracket[lowPos].v, evals };
}
