// Training checkpoints as the Trainer writes and reads them: the network and
// metadata of checkpoint.ts's file and, unless only the weights are wanted,
// everything a resumed run needs to continue exactly: the loop's record and
// the optimizers', schedulers', loss scaler's and callbacks' states
// (training-state.ts), plus the values the onSaveCheckpoint hooks add.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CheckpointMetadata, disposeDeep, readCheckpoint, saveCheckpoint } from './checkpoint.js';
import { checkpointModel, encodeTrainingState, restoreTrainingState } from './training-state.js';
import type { LoopRecord, TrainingParts } from './training-state.js';
import { loadHookState, saveHookState } from './hooks.js';
import type { LightningModule } from './lightning-module.js';
import type { Trainer } from './trainer.js';

/** The Trainer's state at the point a checkpoint is written. */
export interface CheckpointSource {
  /** Handed to the callbacks' onSaveCheckpoint. */
  readonly trainer: Trainer;
  readonly module: LightningModule;
  readonly parts: TrainingParts;
  /** The run's own metadata (the data module's and the Trainer's checkpointMetadata). */
  readonly metadata: CheckpointMetadata;
  /** The epoch under way, as the metadata records it (the record's position says where a resume starts). */
  readonly epoch: number;
  readonly record: LoopRecord;
}

/** Writes a checkpoint to `path` (atomically, its folder made); `weightsOnly`: the model and metadata only (Lightning's weights_only). */
export function writeTrainingCheckpoint(path: string, source: CheckpointSource, weightsOnly = false): void {
  const { module, record } = source;
  mkdirSync(dirname(path), { recursive: true });
  const metadata: CheckpointMetadata = {
    ...source.metadata, epoch: source.epoch, global_step: record.position.globalStep, metrics: Object.fromEntries(record.callbackMetrics),
  };
  // Lightning's checkpoint["hyper_parameters"].
  if (Object.keys(module.hparams).length > 0) metadata.hyper_parameters = module.hparams;
  if (weightsOnly) {
    saveCheckpoint(path, checkpointModel(module).model, metadata);
    return;
  }
  const hookState = saveHookState(source.trainer, module, source.parts.callbacks);
  const { entries, owned } = encodeTrainingState(module, source.parts, record);
  entries.set('hook_state', hookState);
  try {
    saveCheckpoint(path, checkpointModel(module).model, metadata, entries);
  } finally {
    for (const t of owned) t.dispose();
  }
}

/**
 * Loads a training checkpoint into the module, the live parts and the hooks
 * (onLoadCheckpoint); returns the loop's record to continue from.
 */
export function readTrainingCheckpoint(path: string, trainer: Trainer, module: LightningModule, parts: TrainingParts): LoopRecord {
  const { state, training } = readCheckpoint(path);
  try {
    const record = restoreTrainingState(path, module, state, training, parts);
    loadHookState(trainer, module, parts.callbacks, training?.get('hook_state'));
    return record;
  } finally {
    for (const t of state.values()) t.dispose();
    disposeDeep(training);
  }
}
