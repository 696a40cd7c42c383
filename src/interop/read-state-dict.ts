// Reads a state dict written by Python: torch.save's zip format, or
// safetensors. Common wrappers ({'state_dict': …} from Lightning,
// {'model_state_dict': …} from tutorials' training loops) are opened;
// anything else that is not a flat dict of tensors is refused, saying what
// the file holds instead.
import { openSync, readSync, closeSync } from 'node:fs';
import { Tensor, load, loadSafetensors } from '../torch/index.js';
import type { Loaded } from '../torch/index.js';
import { PickleObject } from '../torch/pickle/unpickler.js';

export interface ReadStateDict {
  tensors: Map<string, Tensor>;
  format: 'pt' | 'safetensors';
  /** The wrapper key the state dict was found under ('state_dict' …), when it was wrapped. */
  wrapper: string | null;
}

const WRAPPER_KEYS = ['state_dict', 'model_state_dict'];

export class NotAStateDictError extends TypeError {
  constructor(readonly path: string, what: string) {
    super(`${path} is not a state dict (a dict of tensor names to tensors): it holds ${what}. ` +
      'Save one in Python with torch.save(model.state_dict(), path)');
    this.name = 'NotAStateDictError';
  }
}

function describe(value: Loaded): string {
  if (value instanceof Tensor) return `a single tensor of shape [${value.shape.join(', ')}]`;
  if (value instanceof PickleObject) {
    const name = String(value.global);
    return `an object of Python class ${name}${/Module|Linear|Conv|Sequential|Ortho|Residual/.test(name) ? ' (a whole pickled model?)' : ''}`;
  }
  if (value instanceof Map) return 'a dict';
  if (Array.isArray(value)) return `a list of ${value.length} items`;
  if (value instanceof Set) return 'a set';
  if (Buffer.isBuffer(value)) return 'bytes';
  return value === null ? 'None' : `a ${typeof value}`;
}

/** Frees every tensor inside a loaded value. */
export function disposeLoaded(value: Loaded): void {
  if (value instanceof Tensor) value.dispose();
  else if (value instanceof Map) for (const v of value.values()) disposeLoaded(v);
  else if (Array.isArray(value)) for (const v of value) disposeLoaded(v);
}

function firstBytes(path: string, n: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** A dict whose values are all tensors becomes the state dict; else null. */
function asTensorDict(value: Loaded): Map<string, Tensor> | null {
  if (!(value instanceof Map) || value.size === 0) return null;
  for (const v of value.values()) if (!(v instanceof Tensor)) return null;
  return new Map([...value].map(([k, v]) => [String(k), v as Tensor]));
}

/** Reads a .pt (zip) or .safetensors file as a flat name → tensor map (the caller disposes the tensors). */
export function readStateDictFile(path: string): ReadStateDict {
  const head = firstBytes(path, 8);
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b) {
    const value = load(path);
    const direct = asTensorDict(value);
    if (direct) return { tensors: direct, format: 'pt', wrapper: null };
    if (value instanceof Map) {
      for (const key of WRAPPER_KEYS) {
        const inner = value.has(key) ? asTensorDict(value.get(key) as Loaded) : null;
        if (inner) {
          for (const [k, v] of value) if (k !== key) disposeLoaded(v);
          return { tensors: inner, format: 'pt', wrapper: key };
        }
      }
      const offending = [...value].find(([, v]) => !(v instanceof Tensor));
      disposeLoaded(value);
      if (offending === undefined) throw new NotAStateDictError(path, 'an empty dict');
      throw new NotAStateDictError(path, `a dict whose entry '${String(offending[0])}' is ${describe(offending[1])}, not a tensor`);
    }
    const what = describe(value);
    disposeLoaded(value);
    throw new NotAStateDictError(path, what);
  }
  // torch.save's legacy (pre-1.6) format: load() explains how to re-save it.
  if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5) load(path);
  let tensors: Map<string, Tensor>;
  try {
    tensors = loadSafetensors(path).tensors;
  } catch (error) {
    throw new NotAStateDictError(path, `neither a torch.save archive (zip) nor a readable safetensors file (${(error as Error).message})`);
  }
  if (tensors.size === 0) throw new NotAStateDictError(path, 'an empty safetensors file');
  return { tensors, format: 'safetensors', wrapper: null };
}
