// Callbacks hook into the Trainer's loop at Lightning's points. Every hook is
// optional; a callback with state (best score, patience…) saves it in the
// training checkpoint through stateDict/loadStateDict so a resumed run
// behaves as if it had never stopped.
import type { Tensor } from '../../torch/index.js';
import type { Optimizer } from '../../optim/index.js';
import type { Batch } from '../../data/index.js';
import type { CheckpointHookState, LightningModule, TrainerFn } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';

export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export abstract class Callback {
  /** The key of this callback's state in checkpoints (class name by default; set it when using two of a kind). */
  get stateKey(): string { return this.constructor.name; }

  /** Before the module's setup(stage). */
  setup(_trainer: Trainer, _module: LightningModule, _stage: TrainerFn): void | Promise<void> {}
  teardown(_trainer: Trainer, _module: LightningModule, _stage: TrainerFn): void | Promise<void> {}
  onFitStart(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}
  /** Around the sanity check's validation batches (after onFitStart, before the first epoch). */
  onSanityCheckStart(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}
  onSanityCheckEnd(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}
  onTrainEpochStart(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}
  onTrainBatchStart(_trainer: Trainer, _module: LightningModule, _batch: Batch, _batchIndex: number): void | Promise<void> {}
  /**
   * After each trained batch (not one skipped for a non-finite loss); `loss` is
   * its loss value. (Lightning passes (outputs, batch, batchIdx); here the
   * batch comes last so that existing callbacks keep working.)
   */
  onTrainBatchEnd(_trainer: Trainer, _module: LightningModule, _loss: number, _batchIndex: number, _batch: Batch): void | Promise<void> {}
  /** With the loss about to be backpropagated; runs inside the step, so it cannot be async. */
  onBeforeBackward(_trainer: Trainer, _module: LightningModule, _loss: Tensor): void {}
  onAfterBackward(_trainer: Trainer, _module: LightningModule): void {}
  /** Before each optimizer step (gradients unscaled, not yet clipped). */
  onBeforeOptimizerStep(_trainer: Trainer, _module: LightningModule, _optimizer: Optimizer): void {}
  /** After a validation batch (inside its no-grad scope, so not async). */
  onValidationBatchEnd(_trainer: Trainer, _module: LightningModule, _outputs: unknown, _batch: Batch, _batchIndex: number): void {}
  onTestBatchEnd(_trainer: Trainer, _module: LightningModule, _outputs: unknown, _batch: Batch, _batchIndex: number): void {}
  /** Adds JSON-able values to a training checkpoint being written (before the module's onSaveCheckpoint). */
  onSaveCheckpoint(_trainer: Trainer, _module: LightningModule, _checkpoint: CheckpointHookState): void {}
  /** On resume, with what the onSaveCheckpoint hooks stored (after the module's onLoadCheckpoint). */
  onLoadCheckpoint(_trainer: Trainer, _module: LightningModule, _checkpoint: CheckpointHookState): void {}
  /** When fit() fails with an error (then the error is rethrown). */
  onException(_trainer: Trainer, _module: LightningModule, _error: unknown): void | Promise<void> {}
  /** After the validation loop, with trainer.callbackMetrics holding its epoch values. */
  onValidationEnd(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}
  /** After training and validation of an epoch, with every epoch metric in trainer.callbackMetrics. */
  onTrainEpochEnd(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}
  onFitEnd(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}

  stateDict(): JsonValue { return null; }
  /**
   * On resume, with what stateDict() saved: after the module's weights are
   * loaded and before the optimizers' and schedulers' states (Lightning's
   * order), so a callback can first give the optimizers the parameter groups
   * the saved states hold (BaseFinetuning).
   */
  loadStateDict(_state: JsonValue): void {}
}

/** 'min' or 'max' comparison with a minimum improvement, shared by ModelCheckpoint and EarlyStopping. */
export function improves(value: number, best: number | null, mode: 'min' | 'max', minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === null) return true;
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}

export function checkMode(where: string, mode: unknown): 'min' | 'max' {
  if (mode !== 'min' && mode !== 'max') throw new TypeError(`${where}: mode must be 'min' or 'max', got ${JSON.stringify(mode)}`);
  return mode;
}

/** The monitored value, or an error listing what is available (Lightning's strict behaviour). */
export function monitored(where: string, metrics: ReadonlyMap<string, number>, monitor: string): number {
  const value = metrics.get(monitor);
  if (value === undefined) {
    throw new Error(`${where}: the monitored metric '${monitor}' was not logged; available: ${[...metrics.keys()].sort().join(', ') || 'none'}`);
  }
  return value;
}
