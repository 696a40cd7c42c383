// The state a training checkpoint carries beside the model so that a resumed
// run continues exactly: the loop's position, optimizer, scheduler, loss
// scaler, RNG, callback states, metric history, and the module's own state
// outside its network (a loss's running statistics). Stored as the
// `training_state` entry of checkpoint.ts's file.
import { Tensor, getRngState, setRngState } from '../torch/index.js';
import type { Saveable } from '../torch/index.js';
import { Module } from '../nn/index.js';
import { SWALR } from '../optim/index.js';
import type { Optimizer } from '../optim/index.js';
import type { Callback, JsonValue } from './callbacks/callback.js';
import type { LightningModule } from './lightning-module.js';
import type { PrecisionPlugin } from './precision.js';
import type { AnyScheduler } from './schedulers.js';
import { disposeDeep, readCheckpoint } from './checkpoint.js';

/** Where the loop stands: the epoch and batch to continue from, the optimizer steps taken, and the loggers' step. */
export interface LoopPosition { epoch: number; batchInEpoch: number; globalStep: number; loggingStep: number }

/** What the loop has recorded so far. */
export interface LoopRecord {
  position: LoopPosition;
  history: Record<string, number>[];
  callbackMetrics: Map<string, number>;
}

/** The live objects whose state is saved and restored. */
export interface TrainingParts {
  optimizers: readonly Optimizer[];
  schedulers: readonly AnyScheduler[];
  precision: PrecisionPlugin;
  callbacks: readonly Callback[];
}

/** The network saved as the checkpoint's model: the module's `model` child when it has one. */
export function checkpointModel(module: LightningModule): { model: Module; prefix: string } {
  const child = (module as unknown as { model?: unknown }).model;
  return child instanceof Module ? { model: child, prefix: 'model.' } : { model: module, prefix: '' };
}

/**
 * The training_state entries. `owned` lists the tensors created for them
 * (RNG state, the module's extra state), which the caller frees once the
 * file is written; the optimizer's tensors stay the optimizer's.
 */
export function encodeTrainingState(module: LightningModule, parts: TrainingParts, record: LoopRecord): { entries: Map<string, Saveable>; owned: Tensor[] } {
  const { prefix } = checkpointModel(module);
  const extra = new Map<string, Tensor>();
  if (prefix) for (const [k, t] of module.stateDict()) { if (k.startsWith(prefix)) t.dispose(); else extra.set(k, t); }
  const callbacks: Record<string, JsonValue> = {};
  for (const c of parts.callbacks) callbacks[c.stateKey] = c.stateDict();
  const rng = getRngState();
  const metrics = Object.fromEntries([...record.callbackMetrics].map(([k, v]) => [k, Number.isFinite(v) ? v : String(v)]));
  const entries = new Map<string, Saveable>([
    ['epoch', record.position.epoch],
    ['batch_in_epoch', record.position.batchInEpoch],
    ['global_step', record.position.globalStep],
    ['batches_that_stepped', record.position.loggingStep],
    // Lightning's keys: one state per optimizer and per scheduler, in configureOptimizers() order.
    ['optimizer_states', parts.optimizers.map((o) => o.stateDict() as unknown as Saveable)],
    ['lr_schedulers', JSON.stringify(parts.schedulers.map((sc) => sc.stateDict()))],
    ['grad_scaler', JSON.stringify(parts.precision.stateDict())],
    ['rng_state', rng],
    ['callbacks', JSON.stringify(callbacks)],
    ['history', JSON.stringify(record.history)],
    ['callback_metrics', JSON.stringify(metrics)],
    ['module_extra_state', extra],
  ]);
  return { entries, owned: [rng, ...extra.values()] };
}

/**
 * Loads a checkpoint's model weights (`state`, without the module prefix)
 * and training state into the module and the live parts; returns what the
 * loop had recorded. `path` only names the file in errors.
 */
export function restoreTrainingState(path: string, module: LightningModule, state: Map<string, Tensor>, training: Map<string, unknown> | null,
  parts: TrainingParts): LoopRecord {
  if (training === null) throw new Error(`${path}: this checkpoint holds a model only (no training state), so training cannot resume from it`);
  // The model's weights, plus the module's other state (e.g. a loss's running statistics), loaded strictly together.
  const { prefix } = checkpointModel(module);
  const full = new Map<string, Tensor>([...state].map(([k, t]) => [prefix + k, t]));
  const extra = training.get('module_extra_state');
  if (extra instanceof Map) for (const [k, t] of extra) full.set(String(k), t as Tensor);
  const json = (key: string, fallback: string): unknown => JSON.parse(String(training.get(key) ?? fallback));
  // Files written before several optimizers were supported hold one 'optimizer' and one 'scheduler'.
  const optimizerStates = (training.has('optimizer_states') ? training.get('optimizer_states') : [training.get('optimizer')]) as unknown[];
  const schedulerStates = (training.has('lr_schedulers') ? json('lr_schedulers', '[]') : [json('scheduler', 'null')].filter((x) => x !== null)) as unknown[];
  if (!Array.isArray(optimizerStates) || optimizerStates.some((state) => state === undefined || state === null)) {
    throw new Error(`${path}: the checkpoint's training state holds no optimizer state`);
  }
  if (optimizerStates.length !== parts.optimizers.length) {
    throw new Error(`${path}: the checkpoint holds the state of ${optimizerStates.length} optimizer(s) but configureOptimizers() returned ${parts.optimizers.length}`);
  }
  module.loadStateDict(full);
  // Lightning's order: the callbacks' states after the module's weights and before the optimizers' (a finetuning
  // callback puts back the parameter groups it added, which the saved optimizer states hold).
  const callbacks = json('callbacks', '{}') as Record<string, JsonValue>;
  for (const c of parts.callbacks) if (c.stateKey in callbacks) c.loadStateDict(callbacks[c.stateKey]);
  parts.optimizers.forEach((o, i) => o.loadStateDict(optimizerStates[i] as Map<string, unknown>));
  // As Lightning, schedulers are paired in order; one added since the checkpoint starts afresh. A SWALR's state goes
  // only into a SWALR: StochasticWeightAveraging put it in place of the configured scheduler and restores it from
  // its own state (Lightning's callback clears the configured schedulers before their states are loaded).
  parts.schedulers.forEach((sc, i) => {
    const saved = schedulerStates[i];
    if (saved && !(SWALR.isStateDict(saved) && !(sc instanceof SWALR))) sc.loadStateDict(saved as never);
  });
  parts.precision.loadStateDict(json('grad_scaler', 'null') as Parameters<PrecisionPlugin['loadStateDict']>[0]);
  const rng = training.get('rng_state');
  if (rng instanceof Tensor) setRngState(rng);
  const metrics = json('callback_metrics', '{}') as Record<string, number | string>;
  return {
    position: {
      epoch: Number(training.get('epoch')), batchInEpoch: Number(training.get('batch_in_epoch')), globalStep: Number(training.get('global_step')),
      // Files from before it was stored: it was the global step.
      loggingStep: Number(training.get('batches_that_stepped') ?? training.get('global_step')),
    },
    history: json('history', '[]') as Record<string, number>[],
    callbackMetrics: new Map(Object.entries(metrics).map(([k, v]) => [k, Number(v)])),
  };
}

/**
 * Loads the weights of a checkpoint file into the module (for validate / test
 * / predict with a ckptPath): its network, and the module's other state when
 * the file is a training checkpoint that carries it.
 */
export function loadModuleWeights(path: string, module: LightningModule): void {
  const { state, training } = readCheckpoint(path);
  try {
    const { model, prefix } = checkpointModel(module);
    const extra = training?.get('module_extra_state');
    if (prefix && !(extra instanceof Map)) {
      model.loadStateDict(state);
      return;
    }
    const full = new Map<string, Tensor>([...state].map(([k, t]) => [prefix + k, t]));
    if (extra instanceof Map) for (const [k, t] of extra) full.set(String(k), t as Tensor);
    module.loadStateDict(full);
  } finally {
    for (const t of state.values()) t.dispose();
    disposeDeep(training);
  }
}
