// What a LightningModule's configureOptimizers() may return, in Lightning's
// forms: one optimizer, a config `{ optimizer, lrScheduler }`, a list of
// either, or two lists `[optimizers, schedulers]`. Read into the optimizers
// and the scheduler slots the Trainer steps.
import { Optimizer } from '../optim/index.js';
import { LRScheduler, ReduceLROnPlateau } from '../optim/index.js';
import type { OptimizerConfig, SchedulerConfig } from './lightning-module.js';
import { SchedulerSlot } from './schedulers.js';
import type { AnyScheduler } from './schedulers.js';

/** Everything configureOptimizers() may return. */
export type ConfigureOptimizersResult =
  | Optimizer
  | OptimizerConfig
  | Array<Optimizer | OptimizerConfig>
  | [Optimizer[], Array<AnyScheduler | SchedulerConfig>];

export interface ConfiguredOptimizers {
  optimizers: Optimizer[];
  schedulers: SchedulerSlot[];
}

const WHERE = 'configureOptimizers';

const isScheduler = (x: unknown): x is AnyScheduler => x instanceof LRScheduler || x instanceof ReduceLROnPlateau;

function isConfig(x: unknown): x is OptimizerConfig {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && 'optimizer' in x;
}

/**
 * The optimizers and schedulers of a configureOptimizers() result. Several
 * optimizers need manual optimization (as in Lightning 2), since automatic
 * optimization would not know which loss steps which.
 */
export function readConfiguredOptimizers(result: unknown, automatic: boolean): ConfiguredOptimizers {
  const out = parse(result, automatic);
  if (out.optimizers.length === 0) throw new TypeError(`${WHERE} returned no optimizer`);
  if (new Set(out.optimizers).size !== out.optimizers.length) throw new TypeError(`${WHERE} returned the same optimizer twice`);
  if (automatic && out.optimizers.length > 1) {
    throw new TypeError(`${WHERE} returned ${out.optimizers.length} optimizers: several optimizers need manual optimization ` +
      '(set automaticOptimization = false and step them in trainingStep with this.optimizers() and this.manualBackward(loss))');
  }
  for (const slot of out.schedulers) {
    const owner = (slot.scheduler as { optimizer?: unknown }).optimizer;
    if (owner !== undefined && !out.optimizers.includes(owner as Optimizer)) {
      throw new TypeError(`${WHERE}: a ${slot.scheduler.constructor.name} schedules an optimizer that configureOptimizers did not return`);
    }
  }
  return out;
}

function parse(result: unknown, automatic: boolean): ConfiguredOptimizers {
  if (result instanceof Optimizer) return { optimizers: [result], schedulers: [] };
  if (isConfig(result)) return fromConfigs([result], automatic);
  if (Array.isArray(result)) {
    // Lightning's two lists: [optimizers], [schedulers].
    if (result.length === 2 && Array.isArray(result[0]) && Array.isArray(result[1])) {
      const [optimizers, schedulers] = result as [unknown[], unknown[]];
      optimizers.forEach((o, i) => {
        if (!(o instanceof Optimizer)) throw new TypeError(`${WHERE}: item ${i} of the optimizer list is not an Optimizer`);
      });
      schedulers.forEach((s, i) => {
        if (!isScheduler(s) && !(typeof s === 'object' && s !== null && 'scheduler' in s)) {
          throw new TypeError(`${WHERE}: item ${i} of the scheduler list is neither a scheduler nor a scheduler config { scheduler, … }`);
        }
      });
      return {
        optimizers: optimizers as Optimizer[],
        schedulers: (schedulers as Array<AnyScheduler | SchedulerConfig>).map((s) => SchedulerSlot.from({ optimizer: optimizers[0] as Optimizer, scheduler: s }, automatic)!),
      };
    }
    return fromConfigs(result.map((item, i): OptimizerConfig => {
      if (item instanceof Optimizer) return { optimizer: item };
      if (isConfig(item)) return item;
      throw new TypeError(`${WHERE}: item ${i} of the returned list is neither an Optimizer nor a config { optimizer, lrScheduler }`);
    }), automatic);
  }
  throw new TypeError(`${WHERE} must return an Optimizer, a config { optimizer, lrScheduler }, a list of them, or [optimizers, schedulers]; got ${describe(result)}`);
}

function fromConfigs(configs: OptimizerConfig[], automatic: boolean): ConfiguredOptimizers {
  const optimizers = configs.map((c, i) => {
    if (!(c.optimizer instanceof Optimizer)) throw new TypeError(`${WHERE}: config ${i} has no 'optimizer' (an Optimizer), got ${describe(c.optimizer)}`);
    return c.optimizer;
  });
  const schedulers = configs.map((c) => SchedulerSlot.from(c, automatic)).filter((s): s is SchedulerSlot => s !== null);
  return { optimizers, schedulers };
}

function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  return typeof x === 'object' ? (x.constructor?.name ?? 'object') : typeof x;
}
