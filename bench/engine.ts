// npm run bench:engine — the binding's cost: per-op dispatch overhead,
// convolution speed through the TypeScript API versus the same loop in pure
// C++ on the same libtorch (their ratio is the binding's efficiency), and
// float32 versus bfloat16 autocast.
import { F, Tensor, autocast, native, ones, randn, scope } from './engine-imports.js';
import { machine, round, timeMedian } from './common.js';

interface ConvCase { name: string; inChannels: number; outChannels: number; kernel: number; groups: number; batch: number; size: number }

const SEED_SHAPES = (batch: number): ConvCase[] => [
  { name: `pointwise 256→512, batch ${batch}`, inChannels: 256, outChannels: 512, kernel: 1, groups: 1, batch, size: 16 },
  { name: `depthwise 3×3 on 512, batch ${batch}`, inChannels: 512, outChannels: 512, kernel: 3, groups: 512, batch, size: 16 },
  { name: `pointwise 512→256, batch ${batch}`, inChannels: 512, outChannels: 256, kernel: 1, groups: 1, batch, size: 16 },
];

const quick = process.argv.includes('--quick');
const repeats = quick ? 2 : 5;

/** Forward FLOPs of a stride-1 'same' convolution; forward+backward is three times that. */
const convFlops = (c: ConvCase): number => 2 * c.batch * c.outChannels * c.size * c.size * (c.inChannels / c.groups) * c.kernel * c.kernel;

function dispatchOverhead(): Record<string, number> {
  const x = ones([1]);
  const n = quick ? 20_000 : 200_000;
  const perOp = timeMedian(() => {
    for (let i = 0; i < n; i++) x.add(x).dispose();
  }, 3) / n;
  const inScope = timeMedian(() => scope(() => {
    for (let i = 0; i < n; i++) x.add(x);
  }), 3) / n;
  const nativeOnly = timeMedian(() => {
    const h = x.handle;
    const id = native.findOp('aten::add', 'Tensor');
    for (let i = 0; i < n; i++) native.dispose(native.callOp(id, [h, h]) as never);
  }, 3) / n;
  x.dispose();
  const cppFloor = timeMedian(() => { native.benchTinyAdd(n); }, 3) / n;
  return {
    tinyAddDisposeUs: round(perOp * 1e6),
    tinyAddInScopeUs: round(inScope * 1e6),
    rawAddonCallUs: round(nativeOnly * 1e6),
    cppAtAddUs: round(cppFloor * 1e6),
  };
}

function convThroughApi(c: ConvCase, withBackward: boolean): number {
  const x = randn([c.batch, c.inChannels, c.size, c.size]).requiresGrad_(withBackward);
  const w = randn([c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel]).requiresGrad_(withBackward);
  const padding = (c.kernel - 1) / 2;
  const seconds = timeMedian(() => scope(() => {
    const y = F.conv2d(x, w, { padding, groups: c.groups });
    if (withBackward) {
      y.sum().backward();
      x.grad = null;
      w.grad = null;
    }
  }), repeats);
  x.dispose();
  w.dispose();
  return seconds;
}

function convBench(c: ConvCase): Record<string, unknown> {
  const padding = (c.kernel - 1) / 2;
  const xs = [c.batch, c.inChannels, c.size, c.size];
  const ws = [c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel];
  const flops = 3 * convFlops(c);
  const api = convThroughApi(c, true);
  const cpp = native.benchConv(xs, ws, 1, padding, c.groups, repeats, true);
  return {
    case: c.name,
    apiMs: round(api * 1000),
    cppMs: round(cpp * 1000),
    apiGflops: round(flops / api / 1e9),
    cppGflops: round(flops / cpp / 1e9),
    bindingEfficiency: round(cpp / api),
  };
}

function bf16Bench(c: ConvCase): Record<string, unknown> {
  const x = randn([c.batch, c.inChannels, c.size, c.size]).requiresGrad_(true);
  const w = randn([c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel]).requiresGrad_(true);
  const padding = (c.kernel - 1) / 2;
  const step = (bf16: boolean) => () => scope(() => {
    const y: Tensor = autocast({ enabled: bf16 }, () => F.conv2d(x, w, { padding, groups: c.groups }));
    y.float().sum().backward();
    x.grad = null;
    w.grad = null;
  });
  const f32 = timeMedian(step(false), repeats);
  const bf16 = timeMedian(step(true), repeats);
  x.dispose();
  w.dispose();
  return { case: c.name, float32Ms: round(f32 * 1000), bf16AutocastMs: round(bf16 * 1000), bf16Speedup: round(f32 / bf16) };
}

const batches = quick ? [32] : [32, 128];
const cases = batches.flatMap(SEED_SHAPES);
const result = {
  benchmark: 'engine',
  machine: machine(),
  dispatch: dispatchOverhead(),
  conv2dForwardBackward: cases.map(convBench),
  bf16VsFloat32: SEED_SHAPES(32).map(bf16Bench),
};
console.log(JSON.stringify(result, null, 2));
