// Lightning's hook plumbing shared by the Trainer's loops: the callbacks a
// module brings (configure_callbacks), and the JSON-able values
// onSaveCheckpoint hooks add to a training checkpoint.
import { Callback } from './callbacks/callback.js';
import { ModelCheckpoint } from './callbacks/model-checkpoint.js';
import type { CheckpointHookState, LightningModule } from './lightning-module.js';
import type { Trainer } from './trainer.js';

/**
 * Merges module.configureCallbacks() into `callbacks` in place, as Lightning's
 * _attach_model_callbacks: a returned callback replaces the Trainer's
 * callbacks of the same class, and ModelCheckpoints go last.
 */
export function attachModelCallbacks(callbacks: Callback[], module: LightningModule): void {
  const extra = module.configureCallbacks();
  if (!Array.isArray(extra)) throw new TypeError('configureCallbacks must return an array of callbacks');
  for (const c of extra) if (!(c instanceof Callback)) throw new TypeError('configureCallbacks: every callback must extend Callback');
  if (extra.length === 0) return;
  const replaced = new Set(extra.map((c) => c.constructor));
  const kept = callbacks.filter((c) => !replaced.has(c.constructor) && !extra.includes(c));
  const all = [...kept, ...extra];
  const checkpoints = all.filter((c) => c instanceof ModelCheckpoint);
  callbacks.splice(0, callbacks.length, ...all.filter((c) => !(c instanceof ModelCheckpoint)), ...checkpoints);
}

/** The values the callbacks' then the module's onSaveCheckpoint add, as the JSON stored in training_state's `hook_state`. */
export function saveHookState(trainer: Trainer, module: LightningModule, callbacks: readonly Callback[]): string {
  const checkpoint: CheckpointHookState = {};
  for (const c of callbacks) c.onSaveCheckpoint(trainer, module, checkpoint);
  module.onSaveCheckpoint(checkpoint);
  let text: string | undefined;
  try {
    text = JSON.stringify(checkpoint);
  } catch (error) {
    throw new TypeError(`onSaveCheckpoint: the values added to the checkpoint must be JSON-able (${(error as Error).message})`);
  }
  return text ?? '{}';
}

/** Gives the stored values back on resume: the module's onLoadCheckpoint, then the callbacks' (Lightning's order). */
export function loadHookState(trainer: Trainer, module: LightningModule, callbacks: readonly Callback[], stored: unknown): void {
  const checkpoint = JSON.parse(typeof stored === 'string' ? stored : '{}') as CheckpointHookState;
  module.onLoadCheckpoint(checkpoint);
  for (const c of callbacks) c.onLoadCheckpoint(trainer, module, checkpoint);
}
