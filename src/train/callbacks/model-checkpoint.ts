// Saves training checkpoints during fit, like Lightning's ModelCheckpoint:
// the k best according to a monitored metric (files falling out of the top k
// are deleted), or simply the latest when nothing is monitored, plus
// optionally `last.ckpt`. Files are written atomically by the Trainer. As
// Lightning, it saves at each training epoch's end when validation runs once
// per epoch (or never), and else after validations: a mid-epoch one saves at
// once, the one closing an epoch at that epoch's end (so the file resumes at
// the next epoch).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Callback, JsonValue, checkMode, improves, monitored } from './callback.js';
import { formatCheckpointName } from './checkpoint-name.js';
import type { LightningModule } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';

export interface ModelCheckpointOptions {
  /** Folder of the files (default: `<trainer.defaultRootDir>/checkpoints`). */
  dirpath?: string;
  /**
   * File name template without extension, as Lightning's: {epoch}, {step} and
   * any logged {metric}, with an optional Python format spec ({epoch:02d},
   * {val_loss:.2f}); without a spec a metric has 4 decimals (default '{epoch}-{step}').
   */
  filename?: string;
  /** Write `{val_vra}` as `val_vra=0.4512` (default true; a '/' in the name becomes '_') or as the bare value. */
  autoInsertMetricName?: boolean;
  /** Save every N optimizer steps (at the batch's end) instead of at epoch ends / validations (Lightning's every_n_train_steps). */
  everyNTrainSteps?: number;
  /** Write the model and metadata only, without the training state (such files cannot resume training). */
  saveWeightsOnly?: boolean;
  monitor?: string;
  mode?: 'min' | 'max';
  /** How many best files to keep (default 1; -1 keeps all, 0 none). */
  saveTopK?: number;
  /** Also write last.ckpt at every save (default false). */
  saveLast?: boolean;
  /** Save every N epochs (default 1). */
  everyNEpochs?: number;
  /** Save at training epoch ends (true) or after validations (false); default as Lightning (see above). */
  saveOnTrainEpochEnd?: boolean;
}

export class ModelCheckpoint extends Callback {
  readonly monitor: string | null;
  readonly mode: 'min' | 'max';
  readonly saveTopK: number;
  readonly saveLast: boolean;
  readonly everyNEpochs: number;
  readonly filename: string;
  readonly autoInsertMetricName: boolean;
  /** 0 when saving by epochs. */
  readonly everyNTrainSteps: number;
  readonly saveWeightsOnly: boolean;
  /** The step of the last save by everyNTrainSteps (batches of an accumulation window share a step). */
  private lastStepSaved = -1;
  private readonly dirOption: string | undefined;
  private readonly saveOnTrainEpochEndOption: boolean | undefined;
  /** A validation closed the epoch: save at its end. */
  private pending = false;
  /** Saved files still kept, with their scores (NaN when nothing is monitored). */
  bestK = new Map<string, number>();
  bestModelPath = '';
  bestModelScore: number | null = null;
  lastModelPath = '';

  constructor(options: ModelCheckpointOptions = {}) {
    super();
    this.dirOption = options.dirpath;
    this.filename = options.filename ?? '{epoch}-{step}';
    this.autoInsertMetricName = options.autoInsertMetricName ?? true;
    this.monitor = options.monitor ?? null;
    this.mode = checkMode('ModelCheckpoint', options.mode ?? 'min');
    this.saveTopK = options.saveTopK ?? 1;
    if (!Number.isInteger(this.saveTopK) || this.saveTopK < -1) throw new RangeError(`ModelCheckpoint: saveTopK must be an integer ≥ -1, got ${options.saveTopK}`);
    this.saveLast = options.saveLast ?? false;
    this.saveOnTrainEpochEndOption = options.saveOnTrainEpochEnd;
    if (options.everyNTrainSteps !== undefined && options.everyNEpochs !== undefined && options.everyNTrainSteps > 0 && options.everyNEpochs > 0) {
      throw new RangeError('ModelCheckpoint: everyNTrainSteps and everyNEpochs are mutually exclusive (as Lightning); pass one of them');
    }
    this.everyNTrainSteps = options.everyNTrainSteps ?? 0;
    if (!Number.isInteger(this.everyNTrainSteps) || this.everyNTrainSteps < 0) throw new RangeError(`ModelCheckpoint: everyNTrainSteps must be an integer ≥ 0, got ${options.everyNTrainSteps}`);
    this.everyNEpochs = options.everyNEpochs ?? 1;
    if (!Number.isInteger(this.everyNEpochs) || this.everyNEpochs < 1) throw new RangeError(`ModelCheckpoint: everyNEpochs must be a positive integer, got ${options.everyNEpochs}`);
    this.saveWeightsOnly = options.saveWeightsOnly ?? false;
    if (typeof this.saveWeightsOnly !== 'boolean') throw new TypeError(`ModelCheckpoint: saveWeightsOnly must be a boolean, got ${JSON.stringify(options.saveWeightsOnly)}`);
    if (typeof this.filename !== 'string' || this.filename.length === 0) throw new TypeError(`ModelCheckpoint: filename must be a non-empty string, got ${JSON.stringify(options.filename)}`);
  }

  dirpath(trainer: Trainer): string {
    return this.dirOption ?? join(trainer.defaultRootDir, 'checkpoints');
  }

  /** The file a save now would write: the template filled with epoch, step and the logged metrics. */
  formatCheckpointName(trainer: Trainer): string {
    const values = new Map([...trainer.callbackMetrics, ['epoch', trainer.currentEpoch], ['step', trainer.globalStep]]);
    return join(this.dirpath(trainer), `${formatCheckpointName(this.filename, values, this.autoInsertMetricName)}.ckpt`);
  }

  private fileFor(trainer: Trainer): string { return this.formatCheckpointName(trainer); }

  /** Lightning's default: at epoch ends unless validation runs every few epochs or several times per epoch. */
  savesOnTrainEpochEnd(trainer: Trainer): boolean {
    if (this.saveOnTrainEpochEndOption !== undefined) return this.saveOnTrainEpochEndOption;
    if (trainer.checkValEveryNEpoch !== 1) return false;
    if (!trainer.hasValidation) return true;
    return trainer.valCheckInterval === 1;
  }

  override async onTrainBatchEnd(trainer: Trainer, _module: LightningModule): Promise<void> {
    if (this.everyNTrainSteps === 0 || trainer.globalStep === this.lastStepSaved || trainer.globalStep % this.everyNTrainSteps !== 0) return;
    this.lastStepSaved = trainer.globalStep;
    await this.saveNow(trainer);
  }

  override async onValidationEnd(trainer: Trainer, _module: LightningModule): Promise<void> {
    if (this.everyNTrainSteps > 0) return;
    if (this.savesOnTrainEpochEnd(trainer)) return;
    if (trainer.isLastBatch) this.pending = true;
    else await this.save(trainer);
  }

  override async onTrainEpochEnd(trainer: Trainer, _module: LightningModule): Promise<void> {
    if (this.everyNTrainSteps > 0) return;
    if (!this.savesOnTrainEpochEnd(trainer) && !this.pending) return;
    this.pending = false;
    await this.save(trainer);
  }

  private async save(trainer: Trainer): Promise<void> {
    if ((trainer.currentEpoch + 1) % this.everyNEpochs !== 0) return;
    await this.saveNow(trainer);
  }

  private async saveNow(trainer: Trainer): Promise<void> {
    if (trainer.fastDevRun !== null) return;  // as Lightning: a fast dev run writes no checkpoint
    if (this.saveTopK !== 0) await this.saveBest(trainer);
    if (this.saveLast) {
      this.lastModelPath = join(this.dirpath(trainer), 'last.ckpt');
      await trainer.saveCheckpoint(this.lastModelPath, { weightsOnly: this.saveWeightsOnly });
    }
  }

  private async saveBest(trainer: Trainer): Promise<void> {
    if (this.monitor !== null && !trainer.callbackMetrics.has(this.monitor) && !trainer.validationHasRun) {
      // As Lightning: before any validation a validation metric is only missing for now.
      trainer.print(`warning: ModelCheckpoint: the monitored metric '${this.monitor}' is not available before the first validation; no checkpoint saved`);
      return;
    }
    const score = this.monitor === null ? NaN : monitored('ModelCheckpoint', trainer.callbackMetrics, this.monitor);
    if (this.monitor !== null && this.saveTopK !== -1 && this.bestK.size >= this.saveTopK) {
      const worst = this.worst();
      if (worst === null || !improves(score, worst[1], this.mode)) return;
    }
    const path = this.fileFor(trainer);
    // Record the file before saving it, so the checkpoint written carries this callback's updated state.
    this.bestK.set(path, score);
    const evicted = this.monitor === null
      ? [...this.bestK.keys()].filter((p) => p !== path).slice(0, this.saveTopK === -1 ? 0 : Math.max(0, this.bestK.size - this.saveTopK))
      : (this.saveTopK !== -1 && this.bestK.size > this.saveTopK ? [this.worst()![0]] : []);
    for (const p of evicted) this.bestK.delete(p);
    this.updateBest();
    await trainer.saveCheckpoint(path, { weightsOnly: this.saveWeightsOnly });
    for (const p of evicted) if (p !== path) rmSync(p, { force: true });
  }

  private worst(): [string, number] | null {
    let worst: [string, number] | null = null;
    for (const entry of this.bestK) if (worst === null || improves(worst[1], entry[1], this.mode)) worst = entry;
    return worst;
  }

  private updateBest(): void {
    let best: [string, number] | null = null;
    for (const entry of this.bestK) {
      if (best === null || (this.monitor === null ? true : improves(entry[1], best[1], this.mode))) best = entry;
    }
    this.bestModelPath = best?.[0] ?? '';
    this.bestModelScore = best && this.monitor !== null ? best[1] : null;
  }

  override stateDict(): JsonValue {
    return {
      best_k: [...this.bestK].map(([path, score]) => [path, Number.isFinite(score) ? score : null]),
      best_model_path: this.bestModelPath, best_model_score: this.bestModelScore, last_model_path: this.lastModelPath,
    };
  }

  override loadStateDict(state: JsonValue): void {
    const s = state as { best_k: [string, number | null][]; best_model_path: string; best_model_score: number | null; last_model_path: string };
    this.bestK = new Map(s.best_k.map(([p, v]) => [p, v ?? NaN]));
    this.bestModelPath = s.best_model_path;
    this.bestModelScore = s.best_model_score;
    this.lastModelPath = s.last_model_path;
  }
}
