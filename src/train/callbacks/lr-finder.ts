// Lightning's LearningRateFinder (the seed's commented-out
// `pl_callbacks.LearningRateFinder(max_lr=0.05)`): before training, a range
// test raises the learning rate step by step from minLr to maxLr, records the
// smoothed loss, stops once it diverges, puts the weights and the optimizer
// back, and sets the learning rate where the loss fell fastest.
import type { LightningModule } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';
import { Callback } from './callback.js';
import { lineChartSvg } from '../svg-chart.js';

export interface LearningRateFinderOptions {
  /** First learning rate of the range (default 1e-8). */
  minLr?: number;
  /** Last learning rate of the range (default 1). */
  maxLr?: number;
  /** Steps of the range test (default 100). */
  numTrainingSteps?: number;
  /** How the rate grows between them (default 'exponential'). */
  mode?: 'exponential' | 'linear';
  /** Stop once the smoothed loss exceeds this multiple of the best one (default 4; null: never). */
  earlyStopThreshold?: number | null;
  /** Set the suggested rate on the optimizer and the module's `lr` (default true). */
  updateAttr?: boolean;
}

export interface LrFinderResult {
  /** The rate of every step run, and the loss after it (smoothed, bias-corrected). */
  lrs: number[];
  losses: number[];
  /** The rate at the steepest descent of the loss, or null when too few finite losses were recorded. */
  suggestion: number | null;
}

/** The rate of step `step` of `steps` in [minLr, maxLr]. */
export function rangeLr(step: number, steps: number, minLr: number, maxLr: number, mode: 'exponential' | 'linear'): number {
  const t = steps > 1 ? step / (steps - 1) : 1;
  return mode === 'exponential' ? minLr * (maxLr / minLr) ** t : minLr + (maxLr - minLr) * t;
}

/** Exponential smoothing (β = 0.98) with bias correction, as Lightning's range test records the loss. */
export class SmoothedLoss {
  private average = 0;
  private count = 0;
  constructor(private readonly beta = 0.98) {}
  add(loss: number): number {
    this.count++;
    this.average = this.beta * this.average + (1 - this.beta) * loss;
    return this.average / (1 - this.beta ** this.count);
  }
}

/**
 * The rate where the recorded loss falls fastest: the minimum of its discrete
 * gradient (central differences, one-sided at the ends), skipping `skipBegin`
 * noisy first steps and `skipEnd` last ones, non-finite losses left out.
 */
export function suggestLr(lrs: number[], losses: number[], skipBegin = 10, skipEnd = 1): number | null {
  const kept: [number, number][] = [];
  for (let i = skipBegin; i < losses.length - skipEnd; i++) if (Number.isFinite(losses[i])) kept.push([lrs[i], losses[i]]);
  if (kept.length < 2) return null;
  const n = kept.length;
  let best = 0;
  let bestSlope = Infinity;
  for (let i = 0; i < n; i++) {
    const slope = i === 0 ? kept[1][1] - kept[0][1]
      : i === n - 1 ? kept[n - 1][1] - kept[n - 2][1]
      : (kept[i + 1][1] - kept[i - 1][1]) / 2;
    if (slope < bestSlope) { bestSlope = slope; best = i; }
  }
  return kept[best][0];
}

/** Lightning's lr_finder.plot(suggest=True): the smoothed loss against log10(rate), the suggestion marked. */
export function lrFinderSvg(result: LrFinderResult, title = 'Learning-rate range test'): string {
  const points = result.lrs.map((lr, i) => ({ x: Math.log10(lr), y: result.losses[i] })).filter((p) => Number.isFinite(p.y));
  return lineChartSvg({
    title,
    xLabel: 'learning rate (log scale)',
    yLabel: 'smoothed training loss',
    series: [{ name: 'loss', points }],
    xFormat: (v) => (10 ** v).toExponential(0),
    xMarks: result.suggestion === null ? [] : [Math.log10(result.suggestion)],
  });
}

export class LearningRateFinder extends Callback {
  readonly minLr: number;
  readonly maxLr: number;
  readonly numTrainingSteps: number;
  readonly mode: 'exponential' | 'linear';
  readonly earlyStopThreshold: number | null;
  readonly updateAttr: boolean;
  /** The range test's outcome, once fit has started. */
  result: LrFinderResult | null = null;

  constructor(options: LearningRateFinderOptions = {}) {
    super();
    this.minLr = options.minLr ?? 1e-8;
    this.maxLr = options.maxLr ?? 1;
    this.numTrainingSteps = options.numTrainingSteps ?? 100;
    this.mode = options.mode ?? 'exponential';
    this.earlyStopThreshold = options.earlyStopThreshold === undefined ? 4 : options.earlyStopThreshold;
    this.updateAttr = options.updateAttr ?? true;
    if (!(this.minLr > 0 && this.maxLr > this.minLr && Number.isFinite(this.maxLr))) {
      throw new RangeError(`LearningRateFinder: needs 0 < minLr < maxLr, got minLr ${this.minLr}, maxLr ${this.maxLr}`);
    }
    if (!Number.isInteger(this.numTrainingSteps) || this.numTrainingSteps < 2) {
      throw new RangeError(`LearningRateFinder: numTrainingSteps must be an integer >= 2, got ${this.numTrainingSteps}`);
    }
    if (this.mode !== 'exponential' && this.mode !== 'linear') throw new TypeError(`LearningRateFinder: mode must be 'exponential' or 'linear', got ${JSON.stringify(this.mode)}`);
    if (this.earlyStopThreshold !== null && !(this.earlyStopThreshold > 1)) {
      throw new RangeError(`LearningRateFinder: earlyStopThreshold must be > 1 or null, got ${this.earlyStopThreshold}`);
    }
  }

  /** The rate to train at; throws before fit has run the range test. */
  get optimalLr(): number | null {
    if (this.result === null) throw new Error('LearningRateFinder: the range test runs when fit starts');
    return this.result.suggestion;
  }

  override async onFitStart(trainer: Trainer, module: LightningModule): Promise<void> {
    if (trainer.globalStep > 0) return;  // a resumed run keeps the rate it was trained with
    if (trainer.fastDevRun !== null) {
      trainer.print('LearningRateFinder: skipped in a fastDevRun');
      return;
    }
    const smoothed = new SmoothedLoss();
    let best = Infinity;
    const lrs: number[] = [];
    const losses: number[] = [];
    await trainer.lrRangeTest(module, this.numTrainingSteps, (step) => rangeLr(step, this.numTrainingSteps, this.minLr, this.maxLr, this.mode),
      (lr, loss) => {
        const value = loss === null ? NaN : smoothed.add(loss);
        lrs.push(lr);
        losses.push(value);
        if (!Number.isFinite(value)) return false;
        if (this.earlyStopThreshold !== null && lrs.length > 1 && value > this.earlyStopThreshold * best) return false;
        best = Math.min(best, value);
        return true;
      });
    const suggestion = suggestLr(lrs, losses);
    this.result = { lrs, losses, suggestion };
    if (suggestion === null) {
      trainer.print(`LearningRateFinder: too few finite losses in ${lrs.length} steps to suggest a rate; the optimizer's is kept`);
      return;
    }
    if (this.updateAttr) trainer.setLearningRate(module, suggestion);
    trainer.print(`LearningRateFinder: ${lrs.length} steps from ${this.minLr} to ${lrs[lrs.length - 1].toPrecision(3)}; ` +
      `suggested learning rate ${suggestion.toPrecision(3)}${this.updateAttr ? ' (set)' : ''}`);
  }
}
