// npm run bench:ortho — the price of orthogonality on the seed model's layer
// shapes (dim 256, expand 2, kernel 3, patch 2, 32×32 inputs): forward+backward
// of each AOC layer against a plain Conv2d of the same shape and padding,
// the kernel construction alone, and evaluation with the cached kernel
// against the plain convolution (target ratio ≤ 1.05). Where Orthogonium's
// Adaptive-SOC applies to the same shape, the SOC layer is timed beside it.
import { Tensor, noGrad, randn, scope } from '../src/torch/index.js';
import { Conv2d, Module } from '../src/nn/index.js';
import { AdaptiveOrthoConv2d, AdaptiveSOCConv2d, OrthoConv2dOptions } from '../src/ortho/index.js';
import { machine, round, timeMedian } from './common.js';

interface Case {
  name: string;
  options: OrthoConv2dOptions;
  size: number;
  /** Also time the Adaptive-SOC layer of the same shape (stride 1, odd kernel: FastSOC, whose kernel grows; 'same' padding follows it). */
  soc?: boolean;
}

const quick = process.argv.includes('--quick');
const batch = Number(process.argv.find((a) => a.startsWith('--batch='))?.slice(8) ?? 32);
const repeats = quick ? 3 : 7;

const CASES: Case[] = [
  { name: 'stem 3→256, k2 s2 (RKO)', options: { inChannels: 3, outChannels: 256, kernelSize: 2, stride: 2, padding: 'valid' }, size: 32 },
  { name: 'block 256→512, k3 g128 (BCOP)', options: { inChannels: 256, outChannels: 512, kernelSize: 3, groups: 128 }, size: 16, soc: true },
  { name: 'block 512→256, k1 (RKO)', options: { inChannels: 512, outChannels: 256, kernelSize: 1 }, size: 16 },
  { name: 'pool 256→256, k16 s16 g128 (RKO)', options: { inChannels: 256, outChannels: 256, kernelSize: 16, stride: 16, groups: 128, padding: 'valid' }, size: 16 },
  { name: 'strided 256→512, k3 s2 (BCOP×RKO)', options: { inChannels: 256, outChannels: 512, kernelSize: 3, stride: 2, padding: 1 }, size: 16 },
];

function plainConv(o: OrthoConv2dOptions): Conv2d {
  return new Conv2d(o.inChannels, o.outChannels, o.kernelSize, {
    stride: o.stride ?? 1, padding: o.padding ?? 'same', groups: o.groups ?? 1, bias: false, paddingMode: o.paddingMode ?? 'circular',
  });
}

function trainStep(layer: Module, x: Tensor): () => void {
  return () => scope(() => {
    (layer.forward(x) as Tensor).sum().backward();
    layer.zeroGrad();
  });
}

function evalStep(layer: Module, x: Tensor): () => void {
  return () => noGrad(() => scope(() => { layer.forward(x); }));
}

function measure(c: Case): Record<string, unknown> {
  const aoc = AdaptiveOrthoConv2d({ ...c.options, bias: false });
  const plain = plainConv(c.options);
  const x = randn([batch, c.options.inChannels, c.size, c.size]);
  aoc.train();
  plain.train();
  const plainTrain = timeMedian(trainStep(plain, x), repeats);
  const aocTrain = timeMedian(trainStep(aoc, x), repeats);
  const kernelOnly = timeMedian(() => scope(() => { aoc.weight.sum().backward(); aoc.zeroGrad(); }), repeats);
  aoc.eval();
  plain.eval();
  const plainEval = timeMedian(evalStep(plain, x), repeats);
  const aocEval = timeMedian(evalStep(aoc, x), repeats);
  const soc = c.soc ? measureSoc(c, x, aocTrain, aocEval) : {};
  const result = {
    layer: c.name,
    construction: aoc.typeName,
    plainTrainMs: round(plainTrain * 1000),
    aocTrainMs: round(aocTrain * 1000),
    priceOfOrthogonality: round(aocTrain / plainTrain),
    kernelForwardBackwardMs: round(kernelOnly * 1000),
    plainEvalMs: round(plainEval * 1000),
    aocEvalMs: round(aocEval * 1000),
    evalRatio: round(aocEval / plainEval),
    ...soc,
  };
  x.dispose();
  aoc.dispose();
  plain.dispose();
  return result;
}

/** The Adaptive-SOC layer on the same input: train and eval times, and their ratios to the AOC layer's. */
function measureSoc(c: Case, x: Tensor, aocTrain: number, aocEval: number): Record<string, unknown> {
  const soc = AdaptiveSOCConv2d({ ...c.options, bias: false });
  soc.train();
  const socTrain = timeMedian(trainStep(soc, x), repeats);
  soc.eval();
  const socEval = timeMedian(evalStep(soc, x), repeats);
  const result = {
    socConstruction: soc.typeName,
    socKernelSize: soc.kernelSize,
    socTrainMs: round(socTrain * 1000),
    socEvalMs: round(socEval * 1000),
    socTrainVsAoc: round(socTrain / aocTrain),
    socEvalVsAoc: round(socEval / aocEval),
  };
  soc.dispose();
  return result;
}

console.log(JSON.stringify({ benchmark: 'ortho', batch, machine: machine(), layers: CASES.map(measure) }, null, 2));
