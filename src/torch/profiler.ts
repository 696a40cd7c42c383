// Where the time goes: a per-operator profile of a function, from libtorch's
// own operator hooks (the data behind PyTorch's `key_averages().table()`).
import { performance } from 'node:perf_hooks';
import { native } from './native.js';

export interface OpProfile {
  /** ATen operator (`aten::conv2d`) or autograd node (`ConvolutionBackward0`). */
  name: string;
  /** Shapes of the inputs ("[256, 64, 16, 16], [128, 2, 3, 3], []"), when recorded; ops are then grouped by name and shapes. */
  inputShapes?: string;
  calls: number;
  /** Wall time from entry to exit, including the operators it called. */
  totalSeconds: number;
  /** Total minus the operators it called: what this operator itself cost. */
  selfSeconds: number;
}

export interface Profile {
  wallSeconds: number;
  /** Time inside outermost libtorch operators; the rest of the wall time is JavaScript and the binding. */
  libtorchSeconds: number;
  /** Sorted by self time, largest first. */
  ops: OpProfile[];
}

/**
 * Runs `fn` once with every operator it calls on this thread timed. Only one
 * profile can be recorded at a time. Forward and backward of the autograd
 * engine on CPU both run on the calling thread, so both are included.
 * `recordShapes` groups operators by input shapes as well (PyTorch's
 * `record_shapes` with `group_by_input_shape`), at some cost per operator.
 */
export function profile<T>(fn: () => T, options: { recordShapes?: boolean } = {}): { value: T; profile: Profile } {
  native.profilerStart(options.recordShapes ?? false);
  const start = performance.now();
  let value: T;
  try {
    value = fn();
  } catch (error) {
    native.profilerStop();
    throw error;
  }
  const wallSeconds = (performance.now() - start) / 1000;
  const raw = native.profilerStop();
  const ops = raw.ops.sort((a, b) => b.selfSeconds - a.selfSeconds);
  return { value, profile: { wallSeconds, libtorchSeconds: raw.topLevelSeconds, ops } };
}

/** A fixed-width table of the `limit` most expensive operators by self time, like PyTorch's profiler table. */
export function formatProfile(p: Profile, limit = 25): string {
  const ms = (s: number) => (s * 1000).toFixed(2).padStart(10);
  const pct = (s: number) => `${((100 * s) / p.wallSeconds).toFixed(1).padStart(5)}%`;
  const label = (o: OpProfile) => (o.inputShapes ? `${o.name} ${o.inputShapes}` : o.name);
  const width = Math.max(24, ...p.ops.slice(0, limit).map((o) => label(o).length));
  const lines = [
    `${'operator'.padEnd(width)}  ${'self ms'.padStart(10)}  share  ${'total ms'.padStart(10)}  calls`,
    ...p.ops.slice(0, limit).map((o) => `${label(o).padEnd(width)}  ${ms(o.selfSeconds)}  ${pct(o.selfSeconds)}  ${ms(o.totalSeconds)}  ${o.calls}`),
    `${'(outside libtorch: JS + binding)'.padEnd(width)}  ${ms(p.wallSeconds - p.libtorchSeconds)}  ${pct(p.wallSeconds - p.libtorchSeconds)}`,
    `${'wall'.padEnd(width)}  ${ms(p.wallSeconds)}`,
  ];
  return lines.join('\n');
}
