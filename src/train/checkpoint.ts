// Checkpoints: one torch.save file holding the model's configuration (so the
// factory rebuilds it), its state dict and JSON metadata (input
// normalization, dataset, metrics…). Written atomically; loading names what
// is wrong with a file that is not such a checkpoint.
import { Tensor, load, save } from '../torch/index.js';
import type { Saveable } from '../torch/index.js';
import { FactoryModel, ModelConfig, buildModel } from '../models/index.js';

export const CHECKPOINT_FORMAT = 'orthogonium-ts/checkpoint-1';

export interface CheckpointMetadata {
  /** Per-channel input normalization the model was trained with (pixels in [0, 1]). */
  mean?: number[];
  std?: number[];
  dataset?: string;
  [key: string]: unknown;
}

export function saveCheckpoint(path: string, model: FactoryModel, metadata: CheckpointMetadata = {}): void {
  const state = model.stateDict();
  try {
    save(new Map<string, Saveable>([
      ['format', CHECKPOINT_FORMAT],
      ['model_config', JSON.stringify(model.config)],
      ['metadata', JSON.stringify(metadata)],
      ['state_dict', state],
    ]), path);
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

export interface LoadedCheckpoint { model: FactoryModel; config: ModelConfig; metadata: CheckpointMetadata }

/** Rebuilds the model from the file's configuration and loads its weights (strict). */
export function loadCheckpoint(path: string): LoadedCheckpoint {
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
  const config = parse('model_config') as ModelConfig;
  const metadata = parse('metadata') as CheckpointMetadata;
  const state = value.get('state_dict');
  if (!(state instanceof Map) || ![...state.values()].every((t) => t instanceof Tensor)) return fail("'state_dict' is not a dict of tensors");
  const model = buildModel(config);
  try {
    model.loadStateDict(state as Map<string, Tensor>);
  } finally {
    for (const t of (state as Map<string, Tensor>).values()) t.dispose();
  }
  return { model, config, metadata };
}
