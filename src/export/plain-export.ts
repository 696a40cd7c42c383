// Saving a network as plain weights: a safetensors file or a PyTorch state
// dict (.pt, torch.load-able) holding the explicit tensors, beside a JSON
// file describing the architecture (module tree, types, constructor
// arguments, what the non-torch types compute) and what certification needs
// (head type, Lipschitz constant, input normalization).
import { basename, dirname, extname, join } from 'node:path';
import { Tensor, noGrad, save, saveSafetensors, scope } from '../torch/index.js';
import { Module } from '../nn/index.js';
import { FactoryModel } from '../models/factory-model.js';
import type { ModelConfig } from '../models/factory-model.js';
import { lastLayerType, lipschitzFromStd } from '../losses/certificates.js';
import type { LastLayer } from '../losses/checks.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { PLAIN_TYPE_DOCS, PlainNode, describePlainModel } from './plain-describe.js';

export const PLAIN_FORMAT = 'orthogonium-ts/plain-1';
export type PlainWeightsFormat = 'safetensors' | 'pt';

export interface PlainExportOptions {
  format: PlainWeightsFormat;
  /** Where the architecture JSON goes (default: the weights path with its extension replaced by `.json`). */
  architecturePath?: string;
  /** Input shape without the batch, e.g. [1, 28, 28]. */
  inputShape?: number[];
  mean?: number[];
  std?: number[];
  classNames?: string[];
  /** Head type; 'auto' (default) reads it from the model, recording null when it cannot be told (a plain Linear head). */
  lastLayer?: LastLayer | 'auto';
  /** Lipschitz constant from the raw input (default 1 / min(std), or 1 without std). */
  lipschitz?: number;
  /** More JSON-serializable facts to record (dataset, metrics …). */
  metadata?: Record<string, unknown>;
}

export interface PlainArchitecture {
  format: typeof PLAIN_FORMAT;
  weights: { file: string; format: PlainWeightsFormat; dtype: string };
  input_shape: number[] | null;
  input_mean: number[] | null;
  input_std: number[] | null;
  class_names: string[] | null;
  last_layer: LastLayer | null;
  lipschitz: number;
  /** The factory configuration the (orthogonal) model was built from, when known. */
  source: ModelConfig | null;
  metadata: Record<string, unknown>;
  /** What each non-torch.nn type in the tree computes. */
  types: Record<string, string>;
  model: PlainNode;
}

function usedTypes(node: PlainNode, into = new Set<string>()): Set<string> {
  into.add(node.type);
  for (const c of node.children) usedTypes(c.module, into);
  return into;
}

function checkOptions(o: PlainExportOptions): void {
  if (o === undefined || o === null || (o.format !== 'safetensors' && o.format !== 'pt')) {
    throw new TypeError(`savePlainModel: format must be 'safetensors' or 'pt', got ${JSON.stringify(o?.format)}`);
  }
  if ((o.mean === undefined) !== (o.std === undefined)) throw new TypeError('savePlainModel: give both mean and std, or neither');
  if (o.mean && o.std && o.mean.length !== o.std.length) throw new RangeError(`savePlainModel: mean has ${o.mean.length} values but std has ${o.std.length}`);
  if (o.inputShape !== undefined && !(Array.isArray(o.inputShape) && o.inputShape.every((d) => Number.isInteger(d) && d > 0))) {
    throw new TypeError(`savePlainModel: inputShape must be a list of positive integers without the batch, got ${JSON.stringify(o.inputShape)}`);
  }
}

/** The default architecture path: `model.safetensors` → `model.json`. */
export const architecturePathFor = (weightsPath: string): string =>
  join(dirname(weightsPath), `${basename(weightsPath, extname(weightsPath))}.json`);

/**
 * Writes the plain form of `model` (which is not modified; orthogonal layers
 * are written as their explicit kernels): the weights as safetensors or a
 * .pt state dict, and the architecture JSON. Both files are written
 * atomically. Returns their paths.
 */
export function savePlainModel(model: Module, path: string, options: PlainExportOptions): { weights: string; architecture: string } {
  if (!(model instanceof Module)) throw new TypeError('savePlainModel: model must be a Module');
  checkOptions(options);
  const architecturePath = options.architecturePath ?? architecturePathFor(path);
  if (architecturePath === path) throw new Error(`savePlainModel: the architecture JSON would overwrite the weights (${path})`);
  const head = options.lastLayer === undefined || options.lastLayer === 'auto' ? lastLayerType(model) : options.lastLayer;
  const lipschitz = options.lipschitz ?? (options.std ? lipschitzFromStd(options.std) : 1);
  const wasTraining = model.training;
  model.eval();
  try {
    scope(() => noGrad(() => {
      const { root, tensors } = describePlainModel(model);
      const dtype = [...tensors.values()][0]?.dtype ?? 'float32';
      const architecture: PlainArchitecture = {
        format: PLAIN_FORMAT,
        weights: { file: basename(path), format: options.format, dtype },
        input_shape: options.inputShape ?? null,
        input_mean: options.mean ?? null,
        input_std: options.std ?? null,
        class_names: options.classNames ?? null,
        last_layer: head === 'unknown' ? null : head,
        lipschitz,
        source: model instanceof FactoryModel ? model.config : null,
        metadata: options.metadata ?? {},
        types: Object.fromEntries([...usedTypes(root)].filter((t) => t in PLAIN_TYPE_DOCS).sort().map((t) => [t, PLAIN_TYPE_DOCS[t]])),
        model: root,
      };
      const json = JSON.stringify(architecture, null, 2);
      const contiguous = new Map<string, Tensor>([...tensors].map(([k, t]) => [k, t.contiguous()]));
      if (options.format === 'safetensors') {
        saveSafetensors(contiguous, path, { format: PLAIN_FORMAT, architecture: JSON.stringify(architecture) });
      } else {
        save(contiguous, path);
      }
      writeFileAtomic(architecturePath, Buffer.from(json + '\n'));
    }));
  } finally {
    model.train(wasTraining);
  }
  return { weights: path, architecture: architecturePath };
}
