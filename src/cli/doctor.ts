// `orthogonium doctor`: what the engine runs on, and whether it is fast.
import { performance } from 'node:perf_hooks';
import { buildInfo, getNumThreads, noGrad, randn, scope } from '../torch/index.js';

export interface DoctorReport {
  node: string;
  libtorch: string;
  threads: number;
  hardwareThreads: number;
  blas: string;
  blasCore: string | null;
  matmul2048Gflops: number;
  cuda: { built: boolean; available: boolean; devices: number; nccl: boolean };
  cpu: { avx2: boolean; avx512f: boolean; avx512bf16: boolean };
  warnings: string[];
}

/** GFLOP/s of a 2048² float32 matmul: ~110 with OpenBLAS here, ~5 with the reference BLAS. */
function measureMatmul(): number {
  return noGrad(() => scope(() => {
    const n = 2048;
    const a = randn([n, n]);
    const b = randn([n, n]);
    a.matmul(b).dispose();
    const repeats = 3;
    const start = performance.now();
    for (let i = 0; i < repeats; i++) a.matmul(b).dispose();
    const seconds = (performance.now() - start) / 1000 / repeats;
    return (2 * n ** 3) / seconds / 1e9;
  }));
}

export function doctor(): DoctorReport {
  const info = buildInfo();
  const gflops = measureMatmul();
  const warnings: string[] = [];
  if (!info.openblas) warnings.push('OpenBLAS is not the active BLAS: install libopenblas0-pthread (apt-get install libopenblas0-pthread)');
  if (gflops < 20) warnings.push(`matmul runs at ${gflops.toFixed(1)} GFLOP/s: torch is probably using the reference BLAS`);
  if (getNumThreads() < info.hardwareThreads) warnings.push(`libtorch uses ${getNumThreads()} of ${info.hardwareThreads} hardware threads`);
  return {
    node: process.version,
    libtorch: info.torchVersion,
    threads: getNumThreads(),
    hardwareThreads: info.hardwareThreads,
    blas: info.openblas ?? 'not OpenBLAS (reference BLAS or MKL)',
    blasCore: info.openblasCore,
    matmul2048Gflops: Math.round(gflops * 10) / 10,
    cuda: { built: info.cudaBuild, available: info.cudaAvailable, devices: info.cudaDeviceCount, nccl: info.ncclAvailable },
    cpu: { avx2: info.avx2, avx512f: info.avx512f, avx512bf16: info.avx512bf16 },
    warnings,
  };
}

function cudaLine(c: DoctorReport['cuda']): string {
  if (c.available) return `available, ${c.devices} device(s)`;
  return c.built ? 'not available (CUDA libtorch, no GPU visible)' : 'not available (CPU-only libtorch)';
}

export function formatDoctor(r: DoctorReport): string {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const lines = [
    `node            ${r.node}`,
    `libtorch        ${r.libtorch}`,
    `threads         ${r.threads} (hardware: ${r.hardwareThreads})`,
    `BLAS            ${r.blas}${r.blasCore ? ` [core ${r.blasCore}]` : ''}`,
    `matmul 2048²    ${r.matmul2048Gflops} GFLOP/s (float32)`,
    `CUDA            ${cudaLine(r.cuda)}, NCCL ${r.cuda.nccl ? 'built in' : 'not built in'}`,
    `CPU             AVX2 ${yes(r.cpu.avx2)}, AVX-512 ${yes(r.cpu.avx512f)}, AVX512-BF16 ${yes(r.cpu.avx512bf16)}`,
  ];
  for (const w of r.warnings) lines.push(`warning         ${w}`);
  return lines.join('\n');
}
