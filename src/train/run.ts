// A whole training run as `orthogonium train` performs it: the dataset and
// model picked by the configuration, the seed's ClassificationModule with the
// setting's loss, the Trainer writing logs, checkpoints and plots into the run
// folder, then a final certification of the trained model on the validation
// split (accuracy and VRA at each radius), saved as model.ckpt + results.json.
// A fast dev run goes through the same pipeline on a few batches and writes nothing.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { manualSeed, setFloat32MatmulPrecision } from '../torch/index.js';
import { DatasetInfo, DatasetModule, openDataset } from '../data/index.js';
import { lipschitzFromStd } from '../losses/index.js';
import { FactoryModel, MODEL_PRESETS, ModelConfig, buildModel } from '../models/index.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { ClassificationModule } from './classification-module.js';
import { ModelCheckpoint } from './callbacks/model-checkpoint.js';
import { LearningRateMonitor } from './callbacks/lr-monitor.js';
import { LearningRateFinder, lrFinderSvg } from './callbacks/lr-finder.js';
import { FitResult, Trainer } from './trainer.js';
import { resolveAccelerator } from './trainer-options.js';
import { PrecisionPlugin } from './precision.js';
import { RunConfig } from './run-config.js';
import { getSetting } from './settings.js';
import { saveCheckpoint } from './checkpoint.js';
import { EvaluationResult, evaluateSplit, normalizedSplit } from './evaluation.js';
import { certifiedAccuracySvg } from './certified-plot.js';
import { svgToPng } from './svg-chart.js';
import type { ProgressOutput } from './progress.js';

export interface RunResult {
  /** The run folder (null for a fast dev run, which writes none). */
  out: string | null;
  config: RunConfig;
  fit: FitResult;
  /** The final certification (null when the run was interrupted). */
  evaluation: EvaluationResult | null;
  files: Record<string, string>;
}

/** The model configuration for a dataset: nClasses set to its class count, its input shape checked. */
export function modelConfigFor(config: RunConfig, info: DatasetInfo, nClasses: number): ModelConfig {
  let model = config.model;
  if (model === null) {
    model = info.defaultModel || Object.keys(MODEL_PRESETS).find((name) => sameShape(MODEL_PRESETS[name].options.imgShape, info.shape)) || null;
    if (model === null) throw new Error(`no model preset takes ${info.shape.join('×')} images (dataset ${info.name}); pass --model-config FILE with a model for them`);
  }
  const base: ModelConfig = typeof model === 'string' ? MODEL_PRESETS[model] : model;
  if (!base) throw new TypeError(`unknown model preset '${String(model)}'; known presets: ${Object.keys(MODEL_PRESETS).join(', ')}`);
  const options = { ...base.options };
  if ('imgShape' in options && !sameShape(options.imgShape, info.shape)) {
    throw new Error(`the model takes ${(options.imgShape as number[]).join('×')} images but dataset ${info.name} has ${info.shape.join('×')}; pick another model (--model / --model-config)`);
  }
  if ('nClasses' in options) options.nClasses = nClasses;
  return { architecture: base.architecture, options };
}

const sameShape = (a: unknown, b: number[]): boolean => Array.isArray(a) && a.length === b.length && a.every((v, i) => v === b[i]);

/** runs/<dataset>-<setting>-<time>, the folder of a run without --out. */
export function defaultRunFolder(config: RunConfig): string {
  return join('runs', `${config.dataset.replace(/[^a-z0-9-]+/gi, '_')}-${config.setting}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
}

export interface RunOptions {
  /** A training checkpoint to continue from. */
  resume?: string;
  /**
   * Lightning's fast_dev_run: N training and N validation batches, then the
   * certification of N validation batches; no run folder, logs, checkpoints or exports.
   */
  fastDevRun?: number;
  output?: ProgressOutput;
}

export async function runTraining(config: RunConfig, options: RunOptions = {}): Promise<RunResult> {
  const setting = getSetting(config.setting);
  // Refuse a precision the device cannot run before touching the data or writing anything.
  PrecisionPlugin.check(config.precision, resolveAccelerator(config.device));
  const fastDevRun = options.fastDevRun ?? null;
  if (fastDevRun !== null && !(Number.isInteger(fastDevRun) && fastDevRun >= 1)) throw new RangeError(`fastDevRun must be a positive number of batches, got ${fastDevRun}`);
  if (fastDevRun !== null && options.resume !== undefined) throw new Error('a fast dev run starts afresh: it cannot resume a checkpoint');
  const dataset = openDataset(config.dataset, config.dataDir ?? undefined, { download: config.download, imageSize: config.imageSize });
  const trainSet = dataset.train();
  const nClasses = trainSet.classes.length;
  const modelConfig = modelConfigFor(config, dataset.info, nClasses);
  // In a data-parallel run the launcher fixes the folder for all ranks (a per-rank timestamp would differ); rank 0 writes.
  const out = fastDevRun === null ? resolve(config.out ?? defaultRunFolder(config)) : null;
  const rank = Number(process.env.RANK ?? 0);
  const resolved: RunConfig = { ...config, out, model: modelConfig, epochs: config.epochs ?? setting.epochs };
  if (rank === 0 && out !== null) {
    mkdirSync(out, { recursive: true });
    writeFileAtomic(join(out, 'config.json'), Buffer.from(JSON.stringify(resolved, null, 2) + '\n'));
  }

  manualSeed(config.seed);
  const model = buildModel(modelConfig);
  const lipschitz = lipschitzFromStd(dataset.info.std);
  const module = new ClassificationModule({
    model, loss: setting.loss(nClasses, dataset.info.std), lipschitz, eps: config.eps, lr: config.lr, weightDecay: config.weightDecay,
  });
  const monitor = config.setting === 'non_robust' ? 'val_accuracy' : 'val_vra';
  // The seed's GPU switches; certify() computes the final certificates in full float32 whatever this says.
  setFloat32MatmulPrecision(config.matmulPrecision);
  const finder = config.lrFind ? new LearningRateFinder({ maxLr: 0.05 }) : null;
  const trainer = new Trainer({
    maxEpochs: resolved.epochs!, precision: config.precision, accelerator: config.device, benchmark: config.cudnnBenchmark,
    limitTrainBatches: config.limitTrainBatches ?? undefined, limitValBatches: config.limitValBatches ?? undefined,
    gradientClipVal: config.gradientClipVal ?? undefined, onNonFiniteLoss: config.onNan, logEveryNSteps: config.logEveryNSteps,
    maxTime: config.maxTime ?? undefined, minEpochs: config.minEpochs ?? undefined, numSanityValSteps: config.numSanityValSteps,
    overfitBatches: config.overfitBatches ?? undefined,
    enableProgressBar: config.progress, defaultRootDir: out, output: options.output, fastDevRun: fastDevRun ?? undefined,
    // Ctrl-C in a fast dev run just stops it: the Trainer's interrupted.ckpt would be a file written.
    handleSignals: fastDevRun === null,
    devices: config.devices, numNodes: config.numNodes,
    callbacks: [
      ...(finder ? [finder] : []),
      new ModelCheckpoint({ monitor, mode: 'max', saveTopK: 1, saveLast: true, filename: `best-{epoch}-{${monitor}}` }), new LearningRateMonitor(),
    ],
    checkpointMetadata: { setting: config.setting, run_config: resolved, loss: setting.lossSpec(nClasses, dataset.info.std) },
  });
  // Batches bound for a GPU come in pinned memory, so their copy does not stall the step.
  const data = new DatasetModule(dataset, { batchSize: config.batchSize, numWorkers: config.workers, seed: config.seed, pinMemory: trainer.device !== 'cpu' });
  try {
    const fit = await trainer.fit(module, data, { ckptPath: options.resume });
    const files: Record<string, string> = out === null ? {} : { config: join(out, 'config.json') };
    if (fit.interrupted) return { out, config: resolved, fit, evaluation: null, files: { ...files, checkpoint: fit.interruptedCheckpoint! } };
    if (trainer.globalRank !== 0) return { out, config: resolved, fit, evaluation: null, files: {} };
    module.eval();
    // --limit-val-batches (or the fast dev run's N) also bounds the final certification, so quick runs stay quick.
    const valBatches = fastDevRun ?? config.limitValBatches;
    const valSize = dataset.val().length;
    const limit = valBatches === null ? undefined
      : Number.isInteger(valBatches) ? valBatches * data.valBatchSize : Math.max(1, Math.floor(valSize * valBatches));
    const split = normalizedSplit(dataset.val(), dataset.info.mean, dataset.info.std, limit);
    let evaluation: EvaluationResult;
    try {
      evaluation = evaluateSplit(model, split, { eps: config.certifyEps, lipschitz, loss: module.criterion, device: trainer.device, batchSize: 1000 });
    } finally {
      split.x.dispose();
      split.y.dispose();
    }
    if (out === null) return { out, config: resolved, fit, evaluation, files };  // a fast dev run: nothing is written
    files.model = join(out, 'model.ckpt');
    saveCheckpoint(files.model, model as FactoryModel, {
      ...data.checkpointMetadata(), setting: config.setting, run_config: resolved, loss: setting.lossSpec(nClasses, dataset.info.std),
      accuracy: evaluation.accuracy, vra: evaluation.certified, epochs: fit.epochs,
    });
    files.results = join(out, 'results.json');
    writeFileAtomic(files.results, Buffer.from(JSON.stringify({ config: resolved, fit, evaluation: { ...evaluation, radii: undefined } }, null, 2) + '\n'));
    const svg = certifiedAccuracySvg(evaluation.radii, { title: `Certified accuracy — ${config.dataset}, ${config.setting}`, marks: config.certifyEps });
    files.certifiedPlot = join(out, 'plots', 'certified-accuracy.svg');
    mkdirSync(join(out, 'plots'), { recursive: true });
    writeFileAtomic(files.certifiedPlot, Buffer.from(svg));
    writeFileAtomic(files.certifiedPlot.replace(/\.svg$/, '.png'), svgToPng(svg));
    files.trainingCurves = join(out, 'plots', 'training-curves.svg');
    if (finder?.result) {
      const lrSvg = lrFinderSvg(finder.result, `Learning-rate range test — suggested ${finder.result.suggestion?.toPrecision(3) ?? 'none'}`);
      files.lrFinderPlot = join(out, 'plots', 'lr-finder.svg');
      writeFileAtomic(files.lrFinderPlot, Buffer.from(lrSvg));
      writeFileAtomic(files.lrFinderPlot.replace(/\.svg$/, '.png'), svgToPng(lrSvg));
    }
    return { out, config: resolved, fit, evaluation, files };
  } finally {
    trainer.dispose();
    module.dispose();
  }
}
