// The callbacks and loggers a Trainer runs with: those given, plus what its
// options imply, as Lightning: a Timer for maxTime, and with a run folder a
// ModelCheckpoint and CSV + JSON-lines loggers unless disabled or given.
import { Callback } from './callbacks/callback.js';
import { ModelCheckpoint } from './callbacks/model-checkpoint.js';
import { Timer } from './callbacks/timer.js';
import { CSVLogger } from './loggers/csv-logger.js';
import { JSONLLogger } from './loggers/jsonl-logger.js';
import type { Logger } from './loggers/logger.js';
import type { TrainerOptions } from './trainer-options.js';

/** The given callbacks (checked), then a Timer and a ModelCheckpoint where the options ask for them and none was given. */
export function resolveCallbacks(o: TrainerOptions, rootDir: string): Callback[] {
  const callbacks = [...(o.callbacks ?? [])];
  for (const c of callbacks) if (!(c instanceof Callback)) throw new TypeError('Trainer: every callback must extend Callback');
  // Lightning's max_time: a Timer checking after every batch (a Timer already given keeps its own duration).
  if (o.maxTime !== undefined && !callbacks.some((c) => c instanceof Timer)) callbacks.push(new Timer({ duration: o.maxTime }));
  if (rootDir && (o.enableCheckpointing ?? true) && !callbacks.some((c) => c instanceof ModelCheckpoint)) callbacks.push(new ModelCheckpoint());
  return callbacks;
}

/** The loggers given; none for `false`; by default CSV and JSON lines in the run folder (none without one). */
export function resolveLoggers(logger: TrainerOptions['logger'], rootDir: string): Logger[] {
  if (logger === false) return [];
  if (logger === undefined) return rootDir ? [new CSVLogger(rootDir), new JSONLLogger(rootDir)] : [];
  return Array.isArray(logger) ? logger : [logger];
}
