// npm run bench:profile — where one training step of the seed model spends
// its time: a per-operator table (self time, share of the wall time, calls)
// from libtorch's operator hooks, after two warm-up steps. Options:
// --config=small|seed (default seed), --batch=N (default 32), --shapes (group
// by input shapes), --bf16 (bf16-mixed autocast), --top=N rows, --json.
import { formatProfile, manualSeed, profile, randint, randn } from '../src/torch/index.js';
import { seedLikeModel, seedTrainingStep } from './seed-like-model.js';
import { machine } from './common.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const config = (arg('config') ?? 'seed') as 'small' | 'seed';
const batch = Number(arg('batch') ?? 32);
const top = Number(arg('top') ?? 30);

manualSeed(0);
const model = seedLikeModel(config);
const x = randn([batch, 3, 32, 32]);
const y = randint(0, 10, [batch]);
const { step } = seedTrainingStep(model, x, y, process.argv.includes('--bf16'));
step();
step();
const { profile: p } = profile(step, { recordShapes: process.argv.includes('--shapes') });
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ machine: machine(), config, batch, ...p, ops: p.ops.slice(0, top) }, null, 2));
} else {
  console.log(`one training step, ${config} model, batch ${batch}: ${(batch / p.wallSeconds).toFixed(1)} images/s`);
  console.log(formatProfile(p, top));
}
