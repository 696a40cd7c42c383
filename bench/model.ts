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
// --config=small|seed, --steps=N.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tensor, autocast, manualSeed, noGrad, randint, randn, scope } from '../src/torch/index.js';
import { buildModel, FactoryModel } from '../src/models/index.js';
import { AdamWScheduleFree } from '../src/optim/index.js';
import { LossXent } from '../src/losses/index.js';
import { machine, round, timeMedian } from './common.js';

type Row = 'train' | 'train-bf16' | 'eval-rebuilt' | 'eval-cached';
interface Case { config: 'small' | 'seed'; row: Row; batch: number }

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--config='))?.slice(9);
const steps = Number(process.argv.find((a) => a.startsWith('--steps='))?.slice(8) ?? (quick ? 2 : 3));
const ORTHOGONIUM_SRC = process.env.ORTHOGONIUM_SRC;
const SCHEDULEFREE_SRC = process.env.SCHEDULEFREE_SRC;

function seedLikeModel(config: 'small' | 'seed'): FactoryModel {
  const [dim, depth] = config === 'small' ? [64, 4] : [256, 12];
  return buildModel({
    architecture: 'PatchBasedExpandedCNN',
    options: {
      imgShape: [3, 32, 32], dim, depth, kernelSize: 3, patchSize: 2, expandFactor: 2, groups: null, nClasses: 10, skip: true,
      conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros' } },
      act: { type: 'MaxMin' },
      pool: { type: 'AdaptiveOrthoConv2d', options: { inChannels: dim, outChannels: dim, groups: dim / 2, bias: false, padding: 0, kernelSize: 16, stride: 16 } },
      lin: { type: 'OrthoLinear', options: { bias: false } },
      norm: null,
    },
  });
}

/** Images/s of one row through our API (median of `steps` timed calls after one warm-up). */
function ours(c: Case): number {
  manualSeed(0);
  const model = seedLikeModel(c.config);
  const x = randn([c.batch, 3, 32, 32]);
  const y = randint(0, 10, [c.batch]);
  let seconds: number;
  if (c.row === 'train' || c.row === 'train-bf16') {
    const loss = new LossXent({ nClasses: 10, offset: (Math.SQRT2 / 0.1983) * (36 / 255), temperature: 0.125 });
    const optimizer = new AdamWScheduleFree(model.parameters(), { lr: 5e-3, weightDecay: 0 });
    model.train();
    optimizer.train();
    const step = () => scope(() => {
      const forward = () => loss.forward(model.forward(x) as Tensor, y);
      const value = c.row === 'train-bf16' ? autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, forward) : forward();
      optimizer.zeroGrad();
      value.backward();
      optimizer.step();
    });
    seconds = timeMedian(step, steps);
    optimizer.dispose();
  } else {
    model.eval();
    // "Rebuilt per call" drops every cached kernel before each forward, as a framework without caching would.
    const rebuild = c.row === 'eval-rebuilt';
    seconds = timeMedian(() => noGrad(() => scope(() => {
      if (rebuild) for (const m of model.modules()) (m as unknown as { dropCaches(): void }).dropCaches();
      model.forward(x);
    })), steps);
  }
  x.dispose();
  y.dispose();
  model.dispose();
  return c.batch / seconds;
}

/** The same row with the Python Orthogonium, in a child process; null without the sources or when it fails. */
function baseline(c: Case): { imagesPerSecond: number | null; error?: string } {
  if (!ORTHOGONIUM_SRC || !SCHEDULEFREE_SRC) return { imagesPerSecond: null, error: 'ORTHOGONIUM_SRC / SCHEDULEFREE_SRC not set' };
  const script = fileURLToPath(new URL('../../bench/orthogonium_baseline.py', import.meta.url));
  if (!existsSync('/usr/bin/python3')) return { imagesPerSecond: null, error: 'no /usr/bin/python3' };
  const r = spawnSync('/usr/bin/python3', [script, ORTHOGONIUM_SRC, SCHEDULEFREE_SRC, c.config, c.row, String(c.batch), String(steps), '2'], { encoding: 'utf8' });
  if (r.status !== 0) return { imagesPerSecond: null, error: (r.stderr.trim().split('\n').pop() ?? 'failed').slice(0, 200) };
  return { imagesPerSecond: (JSON.parse(r.stdout.trim().split('\n').pop()!) as { imagesPerSecond: number }).imagesPerSecond };
}

const CASES: Case[] = (['small', 'seed'] as const).filter((config) => (only ? config === only : !quick || config === 'small')).flatMap((config) => [
  { config, row: 'train' as Row, batch: 32 },
  { config, row: 'train' as Row, batch: 128 },
  { config, row: 'train-bf16' as Row, batch: 32 },
  { config, row: 'eval-rebuilt' as Row, batch: 256 },
  { config, row: 'eval-cached' as Row, batch: 256 },
]);

const rows = CASES.map((c) => {
  const mine = ours(c);
  const theirs = baseline(c);
  return {
    config: c.config, mode: c.row, batch: c.batch,
    oursImagesPerSecond: round(mine),
    orthogoniumImagesPerSecond: theirs.imagesPerSecond === null ? null : round(theirs.imagesPerSecond),
    ratio: theirs.imagesPerSecond === null ? null : round(mine / theirs.imagesPerSecond),
    ...(theirs.error ? { baselineError: theirs.error } : {}),
  };
});
const bf16 = (config: string) => {
  const f32 = rows.find((r) => r.config === config && r.mode === 'train' && r.batch === 32);
  const b16 = rows.find((r) => r.config === config && r.mode === 'train-bf16');
  return f32 && b16 ? round(b16.oursImagesPerSecond / f32.oursImagesPerSecond) : null;
};
console.log(JSON.stringify({
  machine: machine(),
  steps,
  rows,
  bf16OverFloat32: Object.fromEntries(['small', 'seed'].map((c) => [c, bf16(c)])),
  peakRssMiB: round(process.resourceUsage().maxRSS / 1024),
}, null, 2));
