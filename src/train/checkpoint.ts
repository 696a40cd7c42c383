// Checkpoints: one torch.save file holding the model's configuration (so the
// factory rebuilds it), its state dict and JSON metadata (input
// normalization, dataset, metrics…), and for checkpoints written during
// training the state that resuming needs. Written atomically; loading names
// what is wrong with a file that is not such a checkpoint.
import { Tensor, load, save } from '../torch/index.js';
import type { Saveable } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { FactoryModel, ModelConfig, buildModel } from '../models/index.js';

export const CHECKPOINT_FORMAT = 'orthogonium-ts/checkpoint-1';

export interface CheckpointMetadata {
  /** Per-channel input normalization the model was trained with (pixels in [0, 1]). */
  mean?: number[];
  std?: number[];
  dataset?: string;
  classes?: string[];
  [key: string]: unknown;
}

/**
 * Writes a checkpoint of `model` (its config is null unless it is a FactoryModel).
 * `training` carries the Trainer's resume state; readers that only want the model ignore it.
 */
export function saveCheckpoint(path: string, model: Module, metadata: CheckpointMetadata = {}, training?: Map<string, Saveable>): void {
  const state = model.stateDict();
  const config = model instanceof FactoryModel ? model.config : null;
  try {
    const entries = new Map<string, Saveable>([
      ['format', CHECKPOINT_FORMAT],
      ['model_config', JSON.stringify(config)],
      ['metadata', JSON.stringify(metadata)],
      ['state_dict', state],
    ]);
    if (training) entries.set('training_state', training);
    save(entries, path);
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

/** The input normalization recorded in a checkpoint's metadata, which certificates need; an error naming the file otherwise. */
export function checkpointNormalization(path: string, metadata: CheckpointMetadata): { mean: number[]; std: number[] } {
  const { mean, std } = metadata;
  if (!Array.isArray(mean) || !Array.isArray(std) || mean.length !== std.length || std.some((s) => !(s > 0))) {
    throw new Error(`${path}: the checkpoint's metadata has no valid input normalization (mean/std), which certificates need`);
  }
  return { mean, std };
}

export interface CheckpointFile {
  config: ModelConfig | null;
  metadata: CheckpointMetadata;
  /** The model's weights; the caller disposes them. */
  state: Map<string, Tensor>;
  /** Present in checkpoints written by the Trainer. */
  training: Map<string, unknown> | null;
}

/** Reads and checks a checkpoint file without building anything. */
export function readCheckpoint(path: string): CheckpointFile {
  const value = load(path);
  const fail = (why: string): never => { throw new Error(`${path}: not an orthogonium-ts checkpoint (${why})`); };
  if (!(value instanceof Map)) return fail('the file does not hold a dict');
  if (value.get('format') !== CHECKPOINT_FORMAT) return fail(`format is ${JSON.stringify(value.get('format') ?? null)}, expected '${CHECKPOINT_FORMAT}'`);
  const parse = (key: string): unknown => {
    const text = value.get(key);
    if (typeof text !== 'string') return fail(`'${key}' is missing`);
    try {
      return JSON.parse(text);
    } catch {
      return fail(`'${key}' is not valid JSON`);
    }
  };
  const config = parse('model_config') as ModelConfig | null;
  const metadata = parse('metadata') as CheckpointMetadata;
  const state = value.get('state_dict');
  if (!(state instanceof Map) || ![...state.values()].every((t) => t instanceof Tensor)) return fail("'state_dict' is not a dict of tensors");
  const training = value.get('training_state');
  if (training !== undefined && !(training instanceof Map)) return fail("'training_state' is not a dict");
  return { config, metadata, state: state as Map<string, Tensor>, training: (training as Map<string, unknown> | undefined) ?? null };
}

export interface LoadedCheckpoint { model: FactoryModel; config: ModelConfig; metadata: CheckpointMetadata }

/** Rebuilds the model from the file's configuration and loads its weights (strict). */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const { config, metadata, state, training } = readCheckpoint(path);
  disposeDeep(training);
  try {
    if (config === null) throw new Error(`${path}: the checkpoint's model was not built by the factory (no model_config), so it cannot be rebuilt here; load its state_dict into your own model`);
    const model = buildModel(config);
    model.loadStateDict(state);
    return { model, config, metadata };
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

/** Frees every tensor inside a loaded value (nested Maps and arrays). */
export function disposeDeep(value: unknown): void {
  if (value instanceof Tensor) value.dispose();
  else if (value instanceof Map) for (const v of value.values()) disposeDeep(v);
  else if (Array.isArray(value)) for (const v of value) disposeDeep(v);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) disposeDeep(v);
}
