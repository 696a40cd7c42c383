// torch.optim.lr_scheduler.ReduceLROnPlateau: multiplies every group's lr by
// `factor` once a monitored metric has not improved for more than `patience`
// steps, then waits `cooldown` steps before counting again. Unlike the other
// schedulers it is stepped with the metric: step(valLoss).
import { Optimizer } from './optimizer.js';

export interface ReduceLROnPlateauOptions {
  /** 'min': lower is better (a loss); 'max': higher is better (an accuracy). Default 'min'. */
  mode?: 'min' | 'max';
  /** The lr is multiplied by this (< 1; default 0.1). */
  factor?: number;
  /** Steps without improvement tolerated before the lr is reduced (default 10). */
  patience?: number;
  /** The least change that counts as an improvement (default 1e-4). */
  threshold?: number;
  /** 'rel': best · (1 ∓ threshold); 'abs': best ∓ threshold (default 'rel'). */
  thresholdMode?: 'rel' | 'abs';
  /** Steps after a reduction during which bad steps are not counted (default 0). */
  cooldown?: number;
  /** The lr never goes below this: one number, or one per parameter group (default 0). */
  minLr?: number | number[];
  /** A reduction smaller than this is not applied (default 1e-8). */
  eps?: number;
}

/** What stateDict() holds: PyTorch's fields, in camelCase. */
export interface ReduceLROnPlateauState {
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLrs: number[];
  /** The single minLr given (PyTorch's default_min_lr; null when a list was), for groups added later; absent in older states. */
  defaultMinLr?: number | null;
  eps: number;
  /** Best value so far (null before the first step, PyTorch's ±inf). */
  best: number | null;
  numBadEpochs: number;
  cooldownCounter: number;
  lastEpoch: number;
  lastLr: number[];
}

export class ReduceLROnPlateau {
  readonly optimizer: Optimizer;
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLrs: number[];
  /** The single minLr given (null when a list was): groups added to the optimizer later get it (PyTorch's default_min_lr). */
  defaultMinLr: number | null;
  eps: number;
  /** Best metric seen (±Infinity before the first step). */
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  /** Steps taken. */
  lastEpoch = 0;
  private lastLr: number[];

  constructor(optimizer: Optimizer, options: ReduceLROnPlateauOptions = {}) {
    if (!(optimizer instanceof Optimizer)) throw new TypeError('ReduceLROnPlateau: expected an Optimizer');
    this.optimizer = optimizer;
    const o = options ?? {};
    const where = 'ReduceLROnPlateau';
    this.mode = o.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max') throw new TypeError(`${where}: mode must be 'min' or 'max', got ${JSON.stringify(o.mode)}`);
    this.thresholdMode = o.thresholdMode ?? 'rel';
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') {
      throw new TypeError(`${where}: thresholdMode must be 'rel' or 'abs', got ${JSON.stringify(o.thresholdMode)}`);
    }
    this.factor = o.factor ?? 0.1;
    if (!(typeof this.factor === 'number' && this.factor < 1 && this.factor >= 0)) throw new RangeError(`${where}: factor must be in [0, 1), got ${o.factor}`);
    this.patience = o.patience ?? 10;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new RangeError(`${where}: patience must be a non-negative integer, got ${o.patience}`);
    this.cooldown = o.cooldown ?? 0;
    if (!Number.isInteger(this.cooldown) || this.cooldown < 0) throw new RangeError(`${where}: cooldown must be a non-negative integer, got ${o.cooldown}`);
    this.threshold = o.threshold ?? 1e-4;
    if (!(typeof this.threshold === 'number' && this.threshold >= 0 && Number.isFinite(this.threshold))) {
      throw new RangeError(`${where}: threshold must be a finite number ≥ 0, got ${o.threshold}`);
    }
    this.eps = o.eps ?? 1e-8;
    if (!(typeof this.eps === 'number' && this.eps >= 0)) throw new RangeError(`${where}: eps must be a number ≥ 0, got ${o.eps}`);
    const groups = optimizer.paramGroups.length;
    const minLr = o.minLr ?? 0;
    if (Array.isArray(minLr)) {
      if (minLr.length !== groups) throw new RangeError(`${where}: minLr lists ${minLr.length} values but the optimizer has ${groups} parameter groups`);
      this.minLrs = [...minLr];
      this.defaultMinLr = null;
    } else {
      this.minLrs = Array(groups).fill(minLr);
      this.defaultMinLr = minLr;
    }
    if (this.minLrs.some((v) => !(typeof v === 'number' && v >= 0))) throw new RangeError(`${where}: minLr must be numbers ≥ 0, got ${JSON.stringify(minLr)}`);
    this.best = this.worst;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  private get worst(): number { return this.mode === 'min' ? Infinity : -Infinity; }

  get inCooldown(): boolean { return this.cooldownCounter > 0; }

  /** Whether `value` improves on `best` by more than the threshold (NaN never does). */
  isBetter(value: number, best: number): boolean {
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? value < best * (1 - this.threshold) : value < best - this.threshold;
    return this.thresholdMode === 'rel' ? value > best * (this.threshold + 1) : value > best + this.threshold;
  }

  /** One step with the monitored value (call it after each validation). */
  step(metric: number): void {
    if (typeof metric !== 'number') throw new TypeError(`ReduceLROnPlateau.step: expected the monitored metric as a number, got ${typeof metric}`);
    this.lastEpoch += 1;
    if (this.isBetter(metric, this.best)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduceLr(): void {
    const groups = this.optimizer.paramGroups.length;
    if (groups !== this.minLrs.length) {
      // A group was added to the optimizer since (BaseFinetuning): PyTorch's rule.
      if (this.defaultMinLr === null) {
        throw new RangeError(`ReduceLROnPlateau: the optimizer has ${groups} parameter groups but minLr lists ${this.minLrs.length} ` +
          '(a group was added since the scheduler was made); set scheduler.minLrs to one value per group');
      }
      this.minLrs = Array(groups).fill(this.defaultMinLr);
    }
    this.optimizer.paramGroups.forEach((group, i) => {
      const old = group.lr;
      const next = Math.max(old * this.factor, this.minLrs[i]);
      if (old - next > this.eps) group.lr = next;
    });
  }

  /** Every group's lr after the last step. */
  getLastLr(): number[] { return [...this.lastLr]; }

  stateDict(): ReduceLROnPlateauState {
    return {
      mode: this.mode, factor: this.factor, patience: this.patience, threshold: this.threshold, thresholdMode: this.thresholdMode,
      cooldown: this.cooldown, minLrs: [...this.minLrs], defaultMinLr: this.defaultMinLr, eps: this.eps, best: Number.isFinite(this.best) ? this.best : null,
      numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch, lastLr: [...this.lastLr],
    };
  }

  loadStateDict(state: ReduceLROnPlateauState): void {
    const where = 'ReduceLROnPlateau.loadStateDict';
    if (typeof state !== 'object' || state === null || typeof state.numBadEpochs !== 'number' || typeof state.lastEpoch !== 'number') {
      throw new TypeError(`${where}: expected a state from ReduceLROnPlateau.stateDict(), got ${JSON.stringify(state)}`);
    }
    // A state saved before groups were added to the optimizer (BaseFinetuning) lists fewer; reduceLr completes it.
    if (!Array.isArray(state.minLrs) || state.minLrs.length === 0 || state.minLrs.length > this.optimizer.paramGroups.length) {
      throw new RangeError(`${where}: 'minLrs' must list one value per parameter group (${this.optimizer.paramGroups.length}), got ${JSON.stringify(state.minLrs)}`);
    }
    this.mode = state.mode;
    this.factor = state.factor;
    this.patience = state.patience;
    this.threshold = state.threshold;
    this.thresholdMode = state.thresholdMode;
    this.cooldown = state.cooldown;
    this.minLrs = [...state.minLrs];
    if (state.defaultMinLr !== undefined) this.defaultMinLr = state.defaultMinLr;
    this.eps = state.eps;
    this.best = state.best ?? this.worst;
    this.numBadEpochs = state.numBadEpochs;
    this.cooldownCounter = state.cooldownCounter;
    this.lastEpoch = state.lastEpoch;
    this.lastLr = Array.isArray(state.lastLr) ? [...state.lastLr] : this.optimizer.paramGroups.map((g) => g.lr);
  }
}
