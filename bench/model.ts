// npm run bench:model — the seed model's training and evaluation speed through
// the public API, beside the Python Orthogonium on PyTorch measured in the same
// run on the same machine (issue #9's table): "small" = dim 64, depth 4;
// "seed" = dim 256, depth 12; train steps at batch 32 and 128 (LossXent +
// AdamWScheduleFree), evaluation at batch 256 with kernels rebuilt per call and
// computed once, bf16-mixed training, and peak RSS.
//
// The baseline needs Orthogonium's and schedule_free's Python sources:
//   ORTHOGONIUM_SRC=/path/to/orthogonium SCHEDULEFREE_SRC=/path/to/schedule_free npm run bench:model
// (without them the baseline columns are null). Options: --quick (small only, fewer steps),
// --config=small|seed, --steps=N, --device=cpu|cuda (on a GPU both sides run there, each
// timed step ends with a synchronize, and the baseline runs once: malloc settings do not matter).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cuda, getNumThreads, manualSeed, noGrad, randint, randn, scope } from '../src/torch/index.js';
import { seedLikeModel, seedTrainingStep } from './seed-like-model.js';
import { machine, round, timeMedian } from './common.js';

type Row = 'train' | 'train-bf16' | 'eval-rebuilt' | 'eval-cached';
interface Case { config: 'small' | 'seed'; row: Row; batch: number }

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--config='))?.slice(9);
const steps = Number(process.argv.find((a) => a.startsWith('--steps='))?.slice(8) ?? (quick ? 2 : 5));
const device = process.argv.find((a) => a.startsWith('--device='))?.slice(9) ?? 'cpu';
if (device !== 'cpu' && device !== 'cuda') throw new TypeError(`bench:model: --device must be cpu or cuda, got '${device}'`);
if (device === 'cuda' && !cuda.isAvailable()) throw new Error('bench:model: --device=cuda, but CUDA is not available to this addon');
const ORTHOGONIUM_SRC = process.env.ORTHOGONIUM_SRC;
const SCHEDULEFREE_SRC = process.env.SCHEDULEFREE_SRC;

/** Images/s of one row through our API (median of `steps` timed calls after one warm-up). */
function ours(c: Case): number {
  manualSeed(0);
  const model = seedLikeModel(c.config);
  model.to(device);
  const x = randn([c.batch, 3, 32, 32], { device });
  const y = randint(0, 10, [c.batch], { device });
  // A GPU queues kernels: a step counts once they have run.
  const timed = (fn: () => void) => timeMedian(device === 'cuda' ? () => { fn(); cuda.synchronize(); } : fn, steps);
  let seconds: number;
  if (c.row === 'train' || c.row === 'train-bf16') {
    const training = seedTrainingStep(model, x, y, c.row === 'train-bf16', device as 'cpu' | 'cuda');
    seconds = timed(training.step);
    training.dispose();
  } else {
    model.eval();
    // "Rebuilt per call" drops every cached kernel before each forward, as a framework without caching would.
    const rebuild = c.row === 'eval-rebuilt';
    seconds = timed(() => noGrad(() => scope(() => {
      if (rebuild) for (const m of model.modules()) (m as unknown as { dropCaches(): void }).dropCaches();
      model.forward(x);
    })));
  }
  x.dispose();
  y.dispose();
  model.dispose();
  return c.batch / seconds;
}

/** Peak resident memory of this process, MiB. */
const peakRssMiB = (): number => round(process.resourceUsage().maxRSS / 1024);

// The baseline's memory settings: the anchor table's two fast columns. glibc's
// tunables are read at process start, so each is a fresh Python process.
const TUNED_MALLOC = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864';
const BASELINE_MEMORY: Record<string, string> = device === 'cuda' ? { defaultMalloc: '' } : {
  tunedMalloc: TUNED_MALLOC,
  tunedMallocHugePages: `glibc.malloc.hugetlb=1:${TUNED_MALLOC}`,
};
// Debian's python3 (with python3-torch) unless PYTHON names another, as on a GPU machine with pip's torch.
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

interface Measured { imagesPerSecond: number; peakRssMiB: number }

/** The same row with the Python Orthogonium under one memory setting; an error line when it fails. */
function baseline(c: Case, tunables: string): Measured | { error: string } {
  if (!ORTHOGONIUM_SRC || !SCHEDULEFREE_SRC) return { error: 'ORTHOGONIUM_SRC / SCHEDULEFREE_SRC not set' };
  if (PYTHON.includes('/') && !existsSync(PYTHON)) return { error: `no ${PYTHON}` };
  const script = fileURLToPath(new URL('../../bench/orthogonium_baseline.py', import.meta.url));
  const r = spawnSync(PYTHON, [script, ORTHOGONIUM_SRC, SCHEDULEFREE_SRC, c.config, c.row, String(c.batch), String(steps), String(getNumThreads()), device], {
    encoding: 'utf8', env: tunables ? { ...process.env, GLIBC_TUNABLES: tunables } : process.env,
  });
  if (r.status !== 0) return { error: (r.stderr.trim().split('\n').pop() ?? 'failed').slice(0, 200) };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measured;
}

/** Our row in a child process of its own, so that its peak RSS is its own. */
function oursInChild(c: Case): Measured {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), `--case=${c.config},${c.row},${c.batch}`, `--steps=${steps}`, `--device=${device}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench:model ${c.config} ${c.row} ${c.batch} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measured;
}

const CASES: Case[] = (['small', 'seed'] as const).filter((config) => (only ? config === only : !quick || config === 'small')).flatMap((config) => [
  // bf16 right after float32 at the same batch: on a shared VM, adjacent runs see the same machine.
  { config, row: 'train' as Row, batch: 32 },
  { config, row: 'train-bf16' as Row, batch: 32 },
  { config, row: 'train' as Row, batch: 128 },
  { config, row: 'eval-rebuilt' as Row, batch: 256 },
  { config, row: 'eval-cached' as Row, batch: 256 },
]);

const single = process.argv.find((a) => a.startsWith('--case='))?.slice(7);
if (single) {
  const [config, row, batch] = single.split(',');
  const imagesPerSecond = ours({ config: config as Case['config'], row: row as Row, batch: Number(batch) });
  console.log(JSON.stringify({ imagesPerSecond, peakRssMiB: peakRssMiB() }));
} else {
  const rows = CASES.map((c) => {
    const mine = oursInChild(c);
    const theirs = Object.fromEntries(Object.entries(BASELINE_MEMORY).map(([name, tunables]) => [name, baseline(c, tunables)]));
    const ok = Object.values(theirs).filter((m): m is Measured => 'imagesPerSecond' in m);
    const best = ok.length ? ok.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a)) : null;
    const row = {
      config: c.config, mode: c.row, batch: c.batch,
      oursImagesPerSecond: round(mine.imagesPerSecond),
      oursPeakRssMiB: mine.peakRssMiB,
      orthogoniumImagesPerSecond: Object.fromEntries(Object.entries(theirs).map(([k, m]) => ['imagesPerSecond' in m ? k : `${k}Error`, 'imagesPerSecond' in m ? round(m.imagesPerSecond) : m.error])),
      orthogoniumBestPeakRssMiB: best ? round(best.peakRssMiB) : null,
      ratioToBest: best ? round(mine.imagesPerSecond / best.imagesPerSecond) : null,
    };
    console.error(JSON.stringify(row));
    return row;
  });
  const bf16 = (config: string) => {
    const f32 = rows.find((r) => r.config === config && r.mode === 'train' && r.batch === 32);
    const b16 = rows.find((r) => r.config === config && r.mode === 'train-bf16');
    return f32 && b16 ? round(b16.oursImagesPerSecond / f32.oursImagesPerSecond) : null;
  };
  console.log(JSON.stringify({
    machine: machine(),
    device,
    steps,
    rows,
    bf16OverFloat32: Object.fromEntries(['small', 'seed'].map((c) => [c, bf16(c)])),
  }, null, 2));
}
