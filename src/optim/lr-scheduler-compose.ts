// Schedulers made of schedulers: SequentialLR (one after another) and
// ChainedScheduler (all at once, composing their recursive forms).
import { AnyOptimizer, LRScheduler, SchedulerStateDict } from './lr-scheduler.js';
import { check } from './util.js';

export interface SequentialLROptions { schedulers: LRScheduler[]; milestones: number[] }

/**
 * Runs schedulers one after another: schedulers[i] from milestones[i-1] on,
 * restarted at its step 0 there. Warmup then cosine:
 * `new SequentialLR(opt, { schedulers: [new LinearLR(opt, { startFactor: 0.01, totalIters: w }),
 *   new CosineAnnealingLR(opt, { tMax: total - w })], milestones: [w] })`.
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  milestones: number[];

  constructor(optimizer: AnyOptimizer, options: SequentialLROptions) {
    super(optimizer);
    const { schedulers, milestones } = options;
    check(Array.isArray(schedulers) && schedulers.length >= 1, 'SequentialLR', 'expects at least one scheduler');
    schedulers.forEach((s, i) => check(s.optimizer === optimizer, 'SequentialLR',
      `scheduler ${i} (${s.constructor.name}) belongs to a different optimizer`));
    check(Array.isArray(milestones) && milestones.length === schedulers.length - 1, 'SequentialLR',
      `expects ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${JSON.stringify(milestones)}`);
    check(milestones.every((m, i) => Number.isInteger(m) && m > 0 && (i === 0 || m > milestones[i - 1])), 'SequentialLR',
      `milestones must be increasing positive integers, got ${JSON.stringify(milestones)}`);
    this.schedulers = schedulers;
    this.milestones = [...milestones];
    // Constructing the children moved the lr: start over from the first one's step 0.
    for (const group of this.groups) group.lr = group.initialLr as number;
    this.lastEpoch = 0;
    schedulers[0].step(0);
    this.lastLr = schedulers[0].getLastLr();
  }

  protected computeLrs(): number[] { return this.getLastLr(); }

  /** Inside a ChainedScheduler: its own step (the active child sets the lr). @internal */
  override stepChained(): void { this.step(); }

  override step(epoch?: number): void {
    check(epoch === undefined, 'SequentialLR', 'step(epoch) is not supported; call step() once per step');
    this.lastEpoch += 1;
    let index = 0;
    while (index < this.milestones.length && this.milestones[index] <= this.lastEpoch) index++;
    const current = this.schedulers[index];
    if (index > 0 && this.milestones[index - 1] === this.lastEpoch) current.step(0);
    else current.step();
    this.lastLr = current.getLastLr();
  }

  override stateDict(): SchedulerStateDict { return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) }; }

  override loadStateDict(state: SchedulerStateDict): void {
    const { own, children } = splitChildStates(state, this.schedulers.length, 'SequentialLR.loadStateDict');
    super.loadStateDict(own);
    this.schedulers.forEach((s, i) => s.loadStateDict(children[i]));
  }
}


/**
 * Steps every scheduler at once, each from the lr the previous one left
 * (PyTorch's chainable forms), e.g. a constant warmup factor times an
 * exponential decay: `new ChainedScheduler([new ConstantLR(opt, { factor: 0.1, totalIters: 2 }),
 *   new ExponentialLR(opt, { gamma: 0.9 })])`. Construct the children just
 * before (their step 0); the chain recomputes the lr of that step from each
 * group's initialLr. step(epoch) is not supported (as PyTorch).
 */
export class ChainedScheduler extends LRScheduler {
  readonly schedulers: LRScheduler[];

  constructor(schedulers: LRScheduler[]) {
    check(Array.isArray(schedulers) && schedulers.length >= 1 && schedulers.every((s) => s instanceof LRScheduler),
      'ChainedScheduler', 'expects a non-empty list of schedulers');
    const optimizer = schedulers[0].optimizer;
    schedulers.forEach((s, i) => check(s.optimizer === optimizer, 'ChainedScheduler',
      `expects all schedulers to belong to the same optimizer, but schedulers 0 and ${i} differ`));
    super(optimizer);
    this.schedulers = [...schedulers];
    // In PyTorch each child's constructor applied its step 0 to the lr the previous one left; replay that.
    for (const group of this.groups) group.lr = group.initialLr as number;
    for (const s of this.schedulers) s.applyChained(s.lastEpoch);
    this.lastEpoch = 0;
    this.lastLr = this.groups.map((g) => g.lr);
  }

  protected computeLrs(): number[] { return this.getLastLr(); }

  override step(epoch?: number): void {
    check(epoch === undefined, 'ChainedScheduler', 'step(epoch) is not supported; call step() once per step');
    for (const s of this.schedulers) s.stepChained();
    this.lastEpoch += 1;
    this.lastLr = this.groups.map((g) => g.lr);
  }

  override stateDict(): SchedulerStateDict { return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) }; }

  /** Restores the children and writes the saved lrs into the groups (the chain is recursive: it continues from them). */
  override loadStateDict(state: SchedulerStateDict): void {
    const { own, children } = splitChildStates(state, this.schedulers.length, 'ChainedScheduler.loadStateDict');
    super.loadStateDict(own);
    this.schedulers.forEach((s, i) => s.loadStateDict(children[i]));
    this.writeLrs(this.lastLr);
  }
}

/** A composite scheduler's saved state, split into its own part and its children's (checked against their number). */
function splitChildStates(state: SchedulerStateDict, count: number, where: string): { own: SchedulerStateDict; children: SchedulerStateDict[] } {
  const { schedulers: children, ...own } = state;
  check(Array.isArray(children) && children.length === count, where, `expected the states of ${count} schedulers`);
  return { own, children: children as SchedulerStateDict[] };
}
