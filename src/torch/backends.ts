// torch.backends and the float32 matmul precision: libtorch's global switches
// for cuDNN and cuBLAS (read on a GPU; kept, and settable, on a CPU build) and
// for deterministic algorithms. Same names and meaning as PyTorch's.
import { native } from './native.js';

export type Float32MatmulPrecision = 'highest' | 'high' | 'medium';

/** @internal what the addon reports. */
export interface BackendFlags {
  cudnnBenchmark: boolean;
  cudnnDeterministic: boolean;
  cudnnAllowTF32: boolean;
  cudaMatmulAllowTF32: boolean;
  float32MatmulPrecision: Float32MatmulPrecision;
  deterministicAlgorithms: boolean;
  deterministicAlgorithmsWarnOnly: boolean;
}

const flags = (): BackendFlags => native.backendFlags();

function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** A flag as a property: `backends.cudnn.benchmark = true`, as in PyTorch. */
function flagProperty(object: object, property: string, flag: keyof BackendFlags, path: string): void {
  Object.defineProperty(object, property, {
    enumerable: true,
    get: () => flags()[flag],
    set: (value: unknown) => native.setBackendFlag(flag, checkBoolean(path, value)),
  });
}

export interface Backends {
  cudnn: {
    /** Let cuDNN time its algorithms on the first call of each shape and keep the fastest (the seed sets it). */
    benchmark: boolean;
    /** Only deterministic cuDNN algorithms. */
    deterministic: boolean;
    /** TensorFloat-32 in cuDNN convolutions (default true, as PyTorch). */
    allowTF32: boolean;
  };
  cuda: { matmul: { /** TensorFloat-32 in float32 matmuls (set by setFloat32MatmulPrecision too). */ allowTF32: boolean } };
}

export const backends: Backends = { cudnn: {}, cuda: { matmul: {} } } as Backends;
flagProperty(backends.cudnn, 'benchmark', 'cudnnBenchmark', 'backends.cudnn.benchmark');
flagProperty(backends.cudnn, 'deterministic', 'cudnnDeterministic', 'backends.cudnn.deterministic');
flagProperty(backends.cudnn, 'allowTF32', 'cudnnAllowTF32', 'backends.cudnn.allowTF32');
flagProperty(backends.cuda.matmul, 'allowTF32', 'cudaMatmulAllowTF32', 'backends.cuda.matmul.allowTF32');

/**
 * How float32 matrix products may compute (torch.set_float32_matmul_precision):
 * 'highest' float32 throughout (the default), 'high' TensorFloat-32 where the
 * hardware has it, 'medium' also bfloat16-based products. The seed sets 'medium'.
 */
export function setFloat32MatmulPrecision(precision: Float32MatmulPrecision): void {
  native.setBackendFlag('float32MatmulPrecision', precision);
}

export const getFloat32MatmulPrecision = (): Float32MatmulPrecision => flags().float32MatmulPrecision;

/** Operators without a deterministic implementation throw (or, with warnOnly, warn), as torch.use_deterministic_algorithms. */
export function useDeterministicAlgorithms(mode: boolean, options: { warnOnly?: boolean } = {}): void {
  native.setBackendFlag('deterministicAlgorithms', checkBoolean('useDeterministicAlgorithms: mode', mode),
    checkBoolean('useDeterministicAlgorithms: warnOnly', options.warnOnly ?? false));
}

/**
 * Runs `fn` with float32 kept whole in matmuls and cuDNN convolutions (no
 * TensorFloat-32 or bfloat16 shortcuts), then restores the switches: a
 * certificate computed from logits with ~1e-3 relative error could claim a
 * radius the exact network does not have. On a CPU build it changes nothing.
 */
export function withFullFloat32Precision<T>(fn: () => T): T {
  const saved = flags();
  native.setBackendFlag('float32MatmulPrecision', 'highest');
  native.setBackendFlag('cudnnAllowTF32', false);
  try {
    return fn();
  } finally {
    // The precision alone restores matmul TF32: libtorch derives one from the other (setting both would turn 'medium' into 'high').
    native.setBackendFlag('float32MatmulPrecision', saved.float32MatmulPrecision);
    native.setBackendFlag('cudnnAllowTF32', saved.cudnnAllowTF32);
  }
}

export const areDeterministicAlgorithmsEnabled = (): boolean => flags().deterministicAlgorithms;
export const isDeterministicAlgorithmsWarnOnlyEnabled = (): boolean => flags().deterministicAlgorithmsWarnOnly;
