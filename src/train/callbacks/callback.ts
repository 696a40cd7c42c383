// Callbacks hook into the Trainer's loop at Lightning's points. Every hook is
// optional; a callback with state (best score, patience…) saves it in the
// training checkpoint through stateDict/loadStateDict so a resumed run
// behaves as if it had never stopped.
import type { LightningModule } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';

export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export abstract class Callback {
  /** The key of this callback's state in checkpoints (class name by default; set it when using two of a kind). */
  get stateKey(): string { return this.constructor.name; }

  onFitStart(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}
  onTrainEpochStart(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}
  /** After each optimizer step; `loss` is the step's loss value. */
  onTrainBatchEnd(_trainer: Trainer, _module: LightningModule, _loss: number, _batchIndex: number): void | Promise<void> {}
  /** After the validation loop, with trainer.callbackMetrics holding its epoch values. */
  onValidationEnd(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}
  /** After training and validation of an epoch, with every epoch metric in trainer.callbackMetrics. */
  onTrainEpochEnd(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}
  onFitEnd(_trainer: Trainer, _module: LightningModule): void | Promise<void> {}

  stateDict(): JsonValue { return null; }
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
