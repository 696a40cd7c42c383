// The configuration of a training run, as `orthogonium train` builds it:
// defaults (the seed's, adapted to the dataset) < the setting < a config file
// < command-line flags. The resolved configuration is written to the run
// folder and into every checkpoint, so a run can be resumed or reproduced.
import { readJsonFile } from '../util/json-file.js';
import { MODEL_PRESETS, ModelConfig } from '../models/index.js';
import { SETTINGS, SettingName } from './settings.js';
import type { Accelerator } from './trainer.js';
import { PRECISIONS, Precision } from './precision.js';
import type { Float32MatmulPrecision } from '../torch/index.js';
import { durationSeconds } from './callbacks/timer.js';

export interface RunConfig {
  setting: SettingName;
  dataset: string;
  dataDir: string | null;
  /** Fetch CIFAR's archive into dataDir when it is missing. */
  download: boolean;
  /** folder:<path> datasets: bring images of any size to imageSize × imageSize (Resize + CenterCrop); null: as they are. */
  imageSize: number | null;
  /** A preset name, or a model configuration; null: the dataset's default preset. */
  model: string | ModelConfig | null;
  /** null: the setting's epoch count. */
  epochs: number | null;
  batchSize: number;
  lr: number;
  /** Run Lightning's learning-rate range test (LearningRateFinder, up to the seed's max_lr 0.05) and train at its suggestion. */
  lrFind: boolean;
  weightDecay: number;
  precision: Precision;
  /** torch.setFloat32MatmulPrecision for the run (the seed sets 'medium' on its GPU; 'highest' is PyTorch's default). */
  matmulPrecision: Float32MatmulPrecision;
  /** torch.backends.cudnn.benchmark (the seed sets it; only GPUs read it). */
  cudnnBenchmark: boolean;
  device: Accelerator;
  workers: number;
  limitTrainBatches: number | null;
  limitValBatches: number | null;
  /** The run folder; null: runs/<dataset>-<setting>-<time>. */
  out: string | null;
  seed: number;
  /** Radius of the VRA logged during training. */
  eps: number;
  /** Radii of the final certification. */
  certifyEps: number[];
  onNan: 'error' | 'skip';
  gradientClipVal: number | null;
  /** Stop training after this long: seconds or "DD:HH:MM:SS" (null: no limit). */
  maxTime: number | string | null;
  /** Train at least this many epochs whatever early stopping says (null: no minimum). */
  minEpochs: number | null;
  /** Validation batches run before training to catch a broken validation (-1: all, 0: none). */
  numSanityValSteps: number;
  /** Train and validate on this many batches (or fraction) only, to check the model can fit them (null: off). */
  overfitBatches: number | null;
  progress: boolean;
  logEveryNSteps: number;
  /** Data-parallel processes on this node, nodes, this node's index, and the rendezvous address (rank 0's node). */
  devices: number;
  numNodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number | null;
}

export const DEFAULT_RUN_CONFIG: RunConfig = {
  setting: 'mildly_robust', dataset: 'cifar10', dataDir: null, download: false, imageSize: null, model: null, epochs: null, batchSize: 256, lr: 5e-3, lrFind: false, weightDecay: 0,
  precision: '32', matmulPrecision: 'highest', cudnnBenchmark: true, device: 'cpu', workers: 0, limitTrainBatches: null, limitValBatches: null, out: null, seed: 0,
  eps: 36 / 255, certifyEps: [36 / 255, 72 / 255, 108 / 255], onNan: 'error', gradientClipVal: null, progress: true, logEveryNSteps: 50,
  maxTime: null, minEpochs: null, numSanityValSteps: 2, overfitBatches: null,
  devices: 1, numNodes: 1, nodeRank: 0, masterAddr: '127.0.0.1', masterPort: null,
};

const KEYS = Object.keys(DEFAULT_RUN_CONFIG) as (keyof RunConfig)[];

/** Checks every field's type and range; throws a TypeError/RangeError naming the field. */
export function validateRunConfig(c: RunConfig, where = 'run config'): RunConfig {
  const fail = (key: string, what: string): never => { throw new RangeError(`${where}: '${key}' must be ${what}, got ${JSON.stringify((c as unknown as Record<string, unknown>)[key])}`); };
  for (const key of Object.keys(c)) if (!KEYS.includes(key as keyof RunConfig)) throw new TypeError(`${where}: unknown field '${key}'; known: ${KEYS.join(', ')}`);
  if (!(c.setting in SETTINGS)) fail('setting', `one of ${Object.keys(SETTINGS).join(', ')}`);
  if (typeof c.dataset !== 'string' || !c.dataset) fail('dataset', 'a dataset name');
  if (c.dataDir !== null && typeof c.dataDir !== 'string') fail('dataDir', 'a folder or null');
  if (c.imageSize !== null && !(Number.isInteger(c.imageSize) && c.imageSize > 0)) fail('imageSize', 'a positive integer or null');
  if (c.imageSize !== null && !c.dataset.startsWith('folder:')) fail('imageSize', `null for dataset '${c.dataset}' (it applies to folder:<path> datasets)`);
  if (c.model !== null && typeof c.model === 'string' && !(c.model in MODEL_PRESETS)) fail('model', `a preset (${Object.keys(MODEL_PRESETS).join(', ')}) or a model configuration`);
  if (c.model !== null && typeof c.model === 'object' && typeof (c.model as ModelConfig).architecture !== 'string') fail('model', 'a model configuration { architecture, options }');
  const int = (key: keyof RunConfig, min: number, nullable = false) => {
    const v = c[key];
    if (nullable && v === null) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(key, `an integer ≥ ${min}${nullable ? ' or null' : ''}`);
  };
  int('epochs', 1, true);
  int('batchSize', 1);
  int('workers', 0);
  int('seed', 0);
  int('logEveryNSteps', 1);
  int('devices', 1);
  int('numNodes', 1);
  int('nodeRank', 0);
  if (c.nodeRank >= c.numNodes) fail('nodeRank', `below numNodes (${c.numNodes})`);
  if (c.masterPort !== null && !(Number.isInteger(c.masterPort) && c.masterPort > 0 && c.masterPort < 65536)) fail('masterPort', 'a port number or null');
  if (typeof c.masterAddr !== 'string' || !c.masterAddr) fail('masterAddr', 'a host name or address');
  int('minEpochs', 1, true);
  int('numSanityValSteps', -1);
  if (c.maxTime !== null) {
    try {
      durationSeconds(c.maxTime, where);
    } catch {
      fail('maxTime', 'seconds > 0, "DD:HH:MM:SS" or null');
    }
  }
  for (const key of ['limitTrainBatches', 'limitValBatches', 'overfitBatches'] as const) {
    const v = c[key];
    if (v !== null && !(typeof v === 'number' && v > 0 && (Number.isInteger(v) || v <= 1))) fail(key, 'a batch count, a fraction in (0, 1], or null');
  }
  if (!(typeof c.lr === 'number' && c.lr > 0 && Number.isFinite(c.lr))) fail('lr', 'a finite number > 0');
  if (!(typeof c.weightDecay === 'number' && c.weightDecay >= 0 && Number.isFinite(c.weightDecay))) fail('weightDecay', 'a finite number ≥ 0');
  if (!(typeof c.eps === 'number' && c.eps > 0)) fail('eps', 'a radius > 0');
  if (!Array.isArray(c.certifyEps) || c.certifyEps.length === 0 || c.certifyEps.some((e) => !(typeof e === 'number' && e > 0))) fail('certifyEps', 'a non-empty list of radii > 0');
  if (!PRECISIONS.includes(c.precision)) fail('precision', PRECISIONS.map((p) => `'${p}'`).join(', '));
  if (!['cpu', 'cuda', 'gpu', 'auto'].includes(c.device)) fail('device', "'cpu', 'cuda' ('gpu') or 'auto'");
  if (!['highest', 'high', 'medium'].includes(c.matmulPrecision)) fail('matmulPrecision', "'highest', 'high' or 'medium'");
  if (typeof c.cudnnBenchmark !== 'boolean') fail('cudnnBenchmark', 'true or false');
  if (typeof c.lrFind !== 'boolean') fail('lrFind', 'true or false');
  if (c.onNan !== 'error' && c.onNan !== 'skip') fail('onNan', "'error' or 'skip'");
  if (c.gradientClipVal !== null && !(typeof c.gradientClipVal === 'number' && c.gradientClipVal > 0)) fail('gradientClipVal', 'a number > 0 or null');
  if (typeof c.progress !== 'boolean') fail('progress', 'true or false');
  if (typeof c.download !== 'boolean') fail('download', 'true or false');
  if (c.out !== null && typeof c.out !== 'string') fail('out', 'a folder or null');
  return c;
}

/** Reads a JSON config file holding any subset of RunConfig's fields. */
export function readRunConfigFile(path: string): Partial<RunConfig> {
  const value = readJsonFile(path, 'config file');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${path}: expected a JSON object of run settings`);
  return value as Partial<RunConfig>;
}

/** Merges layers of partial configurations over the defaults and validates the result. */
export function resolveRunConfig(...layers: Partial<RunConfig>[]): RunConfig {
  const merged = Object.assign({}, DEFAULT_RUN_CONFIG, ...layers) as RunConfig;
  return validateRunConfig(merged);
}
