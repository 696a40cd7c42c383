// Loading state dicts saved by the Python Orthogonium into the equivalent
// model built here (same layers, same arguments). Names are mapped (see
// orthogonium-keys.ts), every shape is checked before anything is copied,
// and a checkpoint that does not fit the model is refused with the keys and
// shapes that differ, named in the checkpoint's own terms.
import { Tensor, noGrad, scope, zerosLike } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { KeyTransform, commonWrapperPrefix, orthogoniumKeyToOurs, unusedOrthogoniumEntry } from './orthogonium-keys.js';
import { readStateDictFile } from './read-state-dict.js';

export interface OrthogoniumLoadOptions {
  /** Every model tensor must be found and every checkpoint tensor used (default true). Shapes are always checked. */
  strict?: boolean;
  /**
   * A prefix to remove from every checkpoint key (e.g. 'model.' for a LightningModule's state dict).
   * 'module.' (DataParallel) and '_orig_mod.' (torch.compile) are removed by default when every key has them.
   */
  stripPrefix?: string;
}

export interface MappedTensor {
  /** The checkpoint's name. */
  from: string;
  /** Ours. */
  to: string;
  shape: number[];
  /**
   * 'copy'; 'normalize-columns' for power-iteration vectors (normalized as Orthogonium does on
   * reading); 'neutral-aol-weights' for AOL's q, which has no effect in Orthogonium and is set to
   * zeros so ours computes the same (see orthogonium-keys.ts).
   */
  transform: KeyTransform;
}

export interface OrthogoniumLoadResult {
  mapped: MappedTensor[];
  /** Our tensors the checkpoint lacks (left as they were; only possible with strict: false). */
  missingKeys: string[];
  /** Checkpoint tensors the model has no place for (ignored; only possible with strict: false). */
  unexpectedKeys: string[];
  /** Checkpoint tensors Orthogonium saves but never uses (AOLConv2D's `kernel`, SLL blocks' own `q`), skipped, with why. */
  skipped: { key: string; reason: string }[];
  /** The wrapper key the state dict was found under in the file ('state_dict' …), if any. */
  wrapper: string | null;
  /** The prefix removed from every key, if any. */
  strippedPrefix: string | null;
}

const LISTED = 25;
const list = (items: string[], separator = ', '): string =>
  (items.length <= LISTED ? items.join(separator) : `${items.slice(0, LISTED).join(separator)} … and ${items.length - LISTED} more`);

/** The checkpoint does not fit the model: what is missing, what is extra, which shapes differ. */
export class OrthogoniumStateDictError extends Error {
  constructor(readonly source: string, readonly modelName: string, readonly missingKeys: string[], readonly unexpectedKeys: string[],
    readonly shapeMismatches: string[]) {
    const parts: string[] = [];
    if (missingKeys.length) parts.push(`missing from the checkpoint (${missingKeys.length}): ${list(missingKeys)}`);
    if (unexpectedKeys.length) parts.push(`in the checkpoint but not in the model (${unexpectedKeys.length}): ${list(unexpectedKeys)}`);
    if (shapeMismatches.length) parts.push(`shapes differ (${shapeMismatches.length}): ${list(shapeMismatches, '; ')}`);
    super(`${source} does not fit ${modelName} (is the model built with the same architecture and arguments as in Python?) — ${parts.join(' | ')}`);
    this.name = 'OrthogoniumStateDictError';
  }
}

const sameShape = (a: number[], b: number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const shapeText = (s: number[]): string => `[${s.join(', ')}]`;

/**
 * Loads an Orthogonium state dict — a path to a torch.save (.pt) or
 * .safetensors file, or a name → tensor map already in memory — into
 * `model`, which must be built here with the same architecture and arguments.
 * Copies values in place (the model keeps its tensors, dtype and device);
 * tensors given as a map stay the caller's.
 */
export function loadOrthogoniumStateDict(model: Module, stateOrPath: string | Map<string, Tensor> | Record<string, Tensor>,
  options: OrthogoniumLoadOptions = {}): OrthogoniumLoadResult {
  const strict = options.strict ?? true;
  const fromFile = typeof stateOrPath === 'string';
  const source = fromFile ? stateOrPath : 'the state dict';
  const read = fromFile ? readStateDictFile(stateOrPath) : null;
  const incoming = read ? read.tensors : stateOrPath instanceof Map ? stateOrPath : new Map(Object.entries(stateOrPath as Record<string, Tensor>));
  try {
    return scope(() => {
      const keys = [...incoming.keys()];
      const prefix = options.stripPrefix ?? commonWrapperPrefix(keys);
      if (options.stripPrefix !== undefined) {
        const without = keys.filter((k) => !k.startsWith(options.stripPrefix!));
        if (without.length > 0) throw new TypeError(`${source}: stripPrefix '${options.stripPrefix}' given, but ${without.length} keys lack it (e.g. '${without[0]}')`);
      }
      const targets = model.stateDict();
      const mapped: MappedTensor[] = [];
      const values = new Map<string, Tensor>();
      const unexpected: string[] = [];
      const mismatched: string[] = [];
      const skipped: { key: string; reason: string }[] = [];
      const sourceOf = new Map<string, string>();
      const strippedKeys = new Set(keys.map((k) => (prefix ? k.slice(prefix.length) : k)));
      for (const [rawKey, tensor] of incoming) {
        if (!(tensor instanceof Tensor)) throw new TypeError(`${source}: entry '${rawKey}' is not a tensor`);
        const key = prefix ? rawKey.slice(prefix.length) : rawKey;
        const { key: ours, transform } = orthogoniumKeyToOurs(key);
        const target = targets.get(ours);
        if (!target) {
          const unused = unusedOrthogoniumEntry(key, strippedKeys);
          if (unused) skipped.push({ key: rawKey, reason: unused });
          else unexpected.push(rawKey);
          continue;
        }
        if (sourceOf.has(ours)) throw new TypeError(`${source}: '${rawKey}' and '${sourceOf.get(ours)}' both map to '${ours}'`);
        sourceOf.set(ours, rawKey);
        // Orthogonium's BatchCentering2D starts its running mean as a single zero, shaped per channel from the first batch on.
        if (ours.endsWith('running_mean') && tensor.numel() === 1 && target.numel() > 1) {
          values.set(ours, tensor.reshape([]).expand(target.shape));
          mapped.push({ from: rawKey, to: ours, shape: tensor.shape, transform: 'copy' });
          continue;
        }
        if (!sameShape(tensor.shape, target.shape)) {
          mismatched.push(`${rawKey}: checkpoint ${shapeText(tensor.shape)} vs model ${shapeText(target.shape)}${ours !== rawKey ? ` (${ours})` : ''}`);
          continue;
        }
        const value = transform === 'normalize-columns' ? noGrad(() => tensor.div(tensor.norm(2, -2, true).add(1e-8)))
          : transform === 'neutral-aol-weights' ? zerosLike(tensor) : tensor;
        values.set(ours, value);
        mapped.push({ from: rawKey, to: ours, shape: tensor.shape, transform });
      }
      const missing = [...targets.keys()].filter((k) => !sourceOf.has(k));
      if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
        throw new OrthogoniumStateDictError(source, model.typeName, strict ? missing : [], strict ? unexpected : [], mismatched);
      }
      const isFloat = (t: Tensor): boolean => t.dtype.startsWith('float') || t.dtype === 'bfloat16';
      for (const [key, value] of values) {
        const target = targets.get(key)!;
        if (isFloat(value) !== isFloat(target)) {
          throw new TypeError(`${source}: '${sourceOf.get(key)}' has dtype ${value.dtype} where the model holds ${target.dtype}`);
        }
      }
      model.loadStateDict(values, { strict: false });
      return { mapped, missingKeys: missing, unexpectedKeys: unexpected, skipped, wrapper: read?.wrapper ?? null, strippedPrefix: prefix };
    });
  } finally {
    if (read) for (const t of read.tensors.values()) t.dispose();
  }
}
