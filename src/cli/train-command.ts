// `orthogonium train`: the seed tutorial as one command. Flags override a
// --config file, which overrides the setting's and the dataset's defaults;
// --resume continues a run from its checkpoint with the configuration stored
// in it (flags still override, e.g. --epochs to train longer). --fast-dev-run
// smoke-tests the whole pipeline on a few batches and writes nothing.
import { DATASET_NAMES } from '../data/index.js';
import { MODEL_PRESETS, readModelConfigFile } from '../models/index.js';
import { SETTINGS } from '../train/settings.js';
import { RunConfig, readRunConfigFile, resolveRunConfig } from '../train/run-config.js';
import { defaultRunFolder, runTraining } from '../train/run.js';
import { readCheckpoint, disposeDeep } from '../train/checkpoint.js';
import { formatEvaluation } from '../train/evaluation.js';
import { FlagSpec, UsageError, parseFlags, withUsage } from './args.js';
import { fileURLToPath } from 'node:url';

export const TRAIN_USAGE = `orthogonium train [--setting non_robust|mildly_robust|robust] [--dataset cifar10|cifar100|fashion-mnist|mnist|folder:<path>]
        [--data-dir DIR] [--download] [--image-size N] [--model <preset>|--model-config FILE] [--config FILE] [--epochs N] [--batch-size N] [--lr X] [--lr-find]
        [--weight-decay X] [--precision 32|bf16-mixed|16-mixed|64-true] [--device cpu|cuda|gpu|auto] [--matmul-precision highest|high|medium]
        [--no-cudnn-benchmark] [--workers N] [--limit-train-batches N]
        [--limit-val-batches N] [--eps 36/255] [--certify-eps 36/255,72/255,108/255] [--gradient-clip X] [--on-nan error|skip]
        [--max-time SECONDS|DD:HH:MM:SS] [--min-epochs N] [--num-sanity-val-steps N|-1] [--overfit-batches N]
        [--fast-dev-run [N]] [--out DIR] [--resume FILE] [--seed N] [--no-progress] [--json]
        [--devices N [--strategy ddp|ddp_spawn] [--num-nodes M --node-rank R --master-addr A --master-port P]]
  --image-size N brings a folder:<path> dataset's images, of any size, to N×N (Resize of the shorter edge, CenterCrop).
  --fast-dev-run [N] smoke-tests the whole pipeline (data, model, loss, optimizer, certification) on N (default 1)
  training and validation batches, prints the metrics and writes nothing: no run folder, logs, checkpoints or exports
  (not with --resume, --overfit-batches or --limit-train/val-batches; --epochs is overridden to one epoch).`;

const FLAGS: Record<string, FlagSpec> = {
  '--setting': { key: 'setting', kind: 'string', choices: Object.keys(SETTINGS) },
  '--dataset': { key: 'dataset', kind: 'string' },
  '--data-dir': { key: 'dataDir', kind: 'string' },
  '--download': { key: 'download', kind: 'bool' },
  '--image-size': { key: 'imageSize', kind: 'positive-int' },
  '--model': { key: 'model', kind: 'string', choices: Object.keys(MODEL_PRESETS) },
  '--model-config': { key: 'modelConfig', kind: 'string' },
  '--config': { key: 'config', kind: 'string' },
  '--epochs': { key: 'epochs', kind: 'positive-int' },
  '--batch-size': { key: 'batchSize', kind: 'positive-int' },
  '--lr': { key: 'lr', kind: 'positive-number' },
  '--lr-find': { key: 'lrFind', kind: 'bool' },
  '--weight-decay': { key: 'weightDecay', kind: 'non-negative-number' },
  '--precision': { key: 'precision', kind: 'string', choices: ['32', 'bf16-mixed', '16-mixed', '64-true'] },
  '--device': { key: 'device', kind: 'string', choices: ['cpu', 'cuda', 'gpu', 'auto'] },
  '--matmul-precision': { key: 'matmulPrecision', kind: 'string', choices: ['highest', 'high', 'medium'] },
  '--no-cudnn-benchmark': { key: 'noCudnnBenchmark', kind: 'bool' },
  '--workers': { key: 'workers', kind: 'non-negative-int' },
  '--limit-train-batches': { key: 'limitTrainBatches', kind: 'limit' },
  '--limit-val-batches': { key: 'limitValBatches', kind: 'limit' },
  '--eps': { key: 'eps', kind: 'eps' },
  '--certify-eps': { key: 'certifyEps', kind: 'eps' },
  '--gradient-clip': { key: 'gradientClipVal', kind: 'positive-number' },
  '--on-nan': { key: 'onNan', kind: 'string', choices: ['error', 'skip'] },
  '--max-time': { key: 'maxTime', kind: 'string' },
  '--min-epochs': { key: 'minEpochs', kind: 'positive-int' },
  '--num-sanity-val-steps': { key: 'numSanityValSteps', kind: 'count-or-all' },
  '--overfit-batches': { key: 'overfitBatches', kind: 'limit' },
  '--fast-dev-run': { key: 'fastDevRun', kind: 'positive-int', bare: 1 },
  '--out': { key: 'out', kind: 'string' },
  '--resume': { key: 'resume', kind: 'string' },
  '--seed': { key: 'seed', kind: 'non-negative-int' },
  '--devices': { key: 'devices', kind: 'positive-int' },
  '--strategy': { key: 'strategy', kind: 'string', choices: ['auto', 'ddp', 'ddp_spawn'] },
  '--num-nodes': { key: 'numNodes', kind: 'positive-int' },
  '--node-rank': { key: 'nodeRank', kind: 'non-negative-int' },
  '--master-addr': { key: 'masterAddr', kind: 'string' },
  '--master-port': { key: 'masterPort', kind: 'positive-int' },
  '--no-progress': { key: 'noProgress', kind: 'bool' },
  '--json': { key: 'json', kind: 'bool' },
};

/**
 * Flags a fast dev run contradicts: it starts afresh and writes nothing, and
 * its N is the batch count of both loops. (A --config file's limits are
 * simply overridden: smoke-testing a run's configuration is what it is for.)
 */
const FAST_DEV_RUN_CONFLICTS: [key: string, flag: string, why: string][] = [
  ['resume', '--resume', 'a fast dev run starts afresh and writes no checkpoint to continue'],
  ['overfitBatches', '--overfit-batches', 'both choose the batches to run; use one of them'],
  ['limitTrainBatches', '--limit-train-batches', 'its N is already the number of training batches'],
  ['limitValBatches', '--limit-val-batches', 'its N is already the number of validation batches'],
];

/** The run configuration stored in a training checkpoint, to resume with. */
function configOfCheckpoint(path: string): Partial<RunConfig> {
  const { state, training, metadata } = readCheckpoint(path);
  for (const t of state.values()) t.dispose();
  disposeDeep(training);
  if (training === null) throw new UsageError(`--resume ${path}: the file holds a model only (no training state); resume from a checkpoint written during training (checkpoints/last.ckpt or interrupted.ckpt)`);
  const config = metadata.run_config;
  if (!config || typeof config !== 'object') throw new UsageError(`--resume ${path}: the checkpoint does not record its run configuration`);
  return config as Partial<RunConfig>;
}

export function trainCommand(args: string[], usage: string): Promise<number> {
  return withUsage('train', usage, async () => {
    const flags = parseFlags(args, FLAGS);
    const { config: configFile, modelConfig, model, resume, noProgress, noCudnnBenchmark, json, eps, strategy, fastDevRun, ...rest } = flags;
    if (fastDevRun !== undefined) {
      for (const [key, flag, why] of FAST_DEV_RUN_CONFLICTS) if (key in flags) throw new UsageError(`--fast-dev-run cannot be combined with ${flag}: ${why}`);
    }
    if (strategy !== undefined && strategy !== 'auto' && rest.devices === undefined && rest.numNodes === undefined) throw new UsageError(`--strategy ${strategy} needs --devices N (processes per node)`);
    if (model !== undefined && modelConfig !== undefined) throw new UsageError('give either --model or --model-config, not both');
    if (typeof rest.dataset === 'string' && !rest.dataset.startsWith('folder:') && !DATASET_NAMES.includes(rest.dataset)) {
      throw new UsageError(`unknown dataset '${rest.dataset}'; expected one of ${DATASET_NAMES.join(', ')}`);
    }
    if (Array.isArray(eps) && eps.length !== 1) throw new UsageError('--eps takes one radius (the VRA logged during training); use --certify-eps for the final list');
    const fromFlags: Partial<RunConfig> = { ...(rest as Partial<RunConfig>) };
    if (Array.isArray(eps)) fromFlags.eps = eps[0];
    if (model !== undefined) fromFlags.model = model as string;
    if (modelConfig !== undefined) {
      try {
        fromFlags.model = readModelConfigFile(modelConfig as string);
      } catch (error) {
        throw new UsageError(`--model-config: ${(error as Error).message}`);
      }
    }
    if (noProgress) fromFlags.progress = false;
    if (noCudnnBenchmark) fromFlags.cudnnBenchmark = false;
    const layers: Partial<RunConfig>[] = [];
    let config: RunConfig;
    try {
      if (typeof resume === 'string') layers.push(configOfCheckpoint(resume));
      if (typeof configFile === 'string') layers.push(readRunConfigFile(configFile));
      config = resolveRunConfig(...layers, fromFlags);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (config.devices * config.numNodes > 1 && process.env.WORLD_SIZE === undefined) return launchRanks(config, args);
    const result = await runTraining(config, { resume: resume as string | undefined, fastDevRun: fastDevRun as number | undefined });
    if (Number(process.env.RANK ?? 0) !== 0) return 0;
    if (json) {
      const evaluation = result.evaluation ? { ...result.evaluation, radii: undefined } : null;
      console.log(JSON.stringify({ out: result.out, fit: result.fit, evaluation, files: result.files, ...(fastDevRun === undefined ? {} : { fastDevRun }) }));
    } else if (typeof fastDevRun === 'number' && result.evaluation) {
      const batches = `${fastDevRun} batch${fastDevRun > 1 ? 'es' : ''}`;
      for (const line of formatEvaluation(result.evaluation, `${config.dataset} validation split, ${batches} (fast dev run)`)) console.log(line);
      console.log(`fast dev run: ${batches} of training and of validation, then the certification above; nothing was written (no run folder, logs, checkpoints or exports)`);
    } else if (result.evaluation) {
      for (const line of formatEvaluation(result.evaluation, `${config.dataset} validation split, final model`)) console.log(line);
      console.log(`run folder: ${result.out} (model.ckpt, results.json, metrics.csv, metrics.jsonl, checkpoints/, plots/)`);
    }
    return result.fit.interrupted ? 130 : 0;
  });
}

/** `--devices N`: start N copies of this command as the ranks of a data-parallel run, all writing to one run folder. */
async function launchRanks(config: RunConfig, args: string[]): Promise<number> {
  const { launch, LaunchError } = await import('../distributed/index.js');
  const out = config.out ?? defaultRunFolder(config);
  const hasOut = args.includes('--out');
  try {
    await launch({
      nprocs: config.devices, numNodes: config.numNodes, nodeRank: config.nodeRank, masterAddr: config.masterAddr, masterPort: config.masterPort ?? undefined,
      script: fileURLToPath(new URL('./main.js', import.meta.url)), args: ['train', ...args, ...(hasOut ? [] : ['--out', out])],
    });
    return 0;
  } catch (error) {
    if (!(error instanceof LaunchError)) throw error;
    console.error(`orthogonium train: ${error.message}`);
    return 1;
  }
}
