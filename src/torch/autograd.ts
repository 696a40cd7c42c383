// Autograd modes and functions: noGrad / enableGrad scopes, autograd.grad,
// and autocast (mixed precision) regions.
import { DType, dtypeCode } from './dtype.js';
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { cuda } from './runtime.js';

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = native.setGradEnabled(enabled);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs fn without recording operations for autograd (like `with torch.no_grad()`). */
export const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);
/** Runs fn with gradient recording on, even inside noGrad. */
export const enableGrad = <T>(fn: () => T): T => withGradMode(true, fn);
export const isGradEnabled = (): boolean => native.isGradEnabled();
/** Sets grad mode and returns the previous mode. */
export const setGradEnabled = (enabled: boolean): boolean => native.setGradEnabled(enabled);

export interface GradOptions {
  gradOutputs?: (Tensor | null)[];
  retainGraph?: boolean;
  createGraph?: boolean;
  allowUnused?: boolean;
}

/** Gradients of `outputs` with respect to `inputs` (torch.autograd.grad). Unused inputs give null when allowed. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const result = native.autogradGrad(
    outs.map((t) => t.handle), ins.map((t) => t.handle),
    options.gradOutputs ? options.gradOutputs.map((g) => (g === null ? null : g.handle)) : null,
    options.retainGraph, options.createGraph ?? false, options.allowUnused ?? false);
  return result.map((h) => (h === null ? null : Tensor._wrap(h)));
}

/** Computes gradients of several tensors at once (torch.autograd.backward). */
export function backward(tensors: Tensor[], grads?: (Tensor | null)[], options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  const create = options.createGraph ?? false;
  native.backward(tensors.map((t) => t.handle), grads ? grads.map((g) => (g === null ? null : g.handle)) : null,
    options.retainGraph ?? create, create);
}

export interface AutocastOptions {
  deviceType?: 'cpu' | 'cuda';
  /** bfloat16 (default) or float16 (CUDA). */
  dtype?: DType;
  enabled?: boolean;
}

/**
 * Runs fn with automatic mixed precision, like `torch.autocast`: matmuls and
 * convolutions run in `dtype`, precision-sensitive ops stay float32.
 */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  const device = options.deviceType ?? 'cpu';
  const dtype = options.dtype ?? 'bfloat16';
  if (options.enabled !== false && device === 'cpu' && dtype !== 'bfloat16') throw new TypeError(`autocast: CPU autocast supports bfloat16 only, got ${dtype}`);
  const previous = native.autocastEnter(device, dtypeCode(dtype));
  if (options.enabled === false) {
    // Like `torch.autocast(enabled=False)`: switch autocast off inside fn, even
    // within an enclosing autocast region. The addon has no "disable" call, so
    // leave the region just entered with the saved state set to "disabled".
    const [, previousDtype] = previous as [boolean, number];
    native.autocastExit(device, [false, previousDtype]);
    try {
      return fn();
    } finally {
      native.autocastEnter(device, previousDtype);
      native.autocastExit(device, previous);
    }
  }
  try {
    return fn();
  } finally {
    native.autocastExit(device, previous);
  }
}

/**
 * Runs fn with CPU (and, when built with CUDA, CUDA) autocast switched off,
 * even inside an autocast region. Layers use it to build their weights in the
 * parameters' own precision: orthogonalization in bfloat16 would leave kernels
 * orthogonal only to ~1e-2, which certificates cannot afford.
 */
export function withoutAutocast<T>(fn: () => T): T {
  const cpuOff = () => autocast({ deviceType: 'cpu', enabled: false }, fn);
  cudaBuilt ??= cuda.isAvailable();
  return cudaBuilt ? autocast({ deviceType: 'cuda', enabled: false }, cpuOff) : cpuOff();
}
let cudaBuilt: boolean | undefined;
