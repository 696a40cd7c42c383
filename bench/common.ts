// Shared helpers for benchmarks: timing, machine description, JSON output.
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { buildInfo, getNumThreads } from '../src/torch/index.js';

/** Median seconds per call of fn over `repeats` timed runs, after `warmup` untimed ones. */
export function timeMedian(fn: () => void, repeats: number, warmup = 1): number {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    fn();
    samples.push((performance.now() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

export function machine(): Record<string, unknown> {
  const info = buildInfo();
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    libtorch: info.torchVersion,
    threads: getNumThreads(),
    blas: info.openblas,
    avx512f: info.avx512f,
    avx512bf16: info.avx512bf16,
    cuda: info.cudaAvailable ? { devices: info.cudaDeviceCount, nccl: info.ncclAvailable } : null,
  };
}

export const round = (x: number, digits = 3): number => Number(x.toPrecision(digits));
