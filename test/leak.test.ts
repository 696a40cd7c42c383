// Memory must stay flat over a long training run: every step runs in a
// scope, so no tensor may survive it except parameters and optimizer state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import * as nn from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';

const STEPS = 2000;
const RSS_GROWTH_LIMIT = 32 * 2 ** 20;

test(`${STEPS} training steps keep live tensors constant and RSS flat`, async () => {
  torch.manualSeed(0);
  const model = new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.AvgPool2d(2),
    new nn.Conv2d(8, 8, 3, { padding: 1, groups: 2 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(8 * 4 * 4, 10),
  );
  const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = torch.randn([16, 1, 8, 8]);
  const y = torch.randint(0, 10, [16]);
  const step = () => torch.scope(() => {
    optimizer.zeroGrad();
    const loss = torch.F.crossEntropy(model.forward(x), y);
    loss.backward();
    optimizer.step();
    return loss.item();
  });
  for (let i = 0; i < 200; i++) step();
  global.gc?.();
  const liveBefore = torch.memoryStats().liveTensors;
  const rssBefore = process.memoryUsage.rss();
  let firstLoss = NaN;
  let lastLoss = NaN;
  for (let i = 0; i < STEPS; i++) {
    const loss = step();
    if (i === 0) firstLoss = loss;
    lastLoss = loss;
    if (i % 250 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const liveAfter = torch.memoryStats().liveTensors;
  const rssGrowth = process.memoryUsage.rss() - rssBefore;
  assert.equal(liveAfter, liveBefore, 'live tensor count must not change across steps');
  assert.ok(rssGrowth < RSS_GROWTH_LIMIT, `RSS grew by ${(rssGrowth / 2 ** 20).toFixed(1)} MiB over ${STEPS} steps`);
  assert.ok(lastLoss < firstLoss, 'the model was really training');
});

test('building and disposing orthogonal layers leaves no live tensor (parametrizations free what their right inverse made)', async () => {
  const { AdaptiveOrthoConv2d, AdaptiveOrthoConvTranspose2d, OrthoLinear } = await import('../src/ortho/index.js');
  const builders: [string, () => nn.Module][] = [
    ['BCOP conv', () => AdaptiveOrthoConv2d({ inChannels: 8, outChannels: 8, kernelSize: 3 })],
    ['RKO conv', () => AdaptiveOrthoConv2d({ inChannels: 8, outChannels: 16, kernelSize: 2, stride: 2, padding: 0 })],
    ['BCOP×RKO transposed conv', () => AdaptiveOrthoConvTranspose2d({ inChannels: 8, outChannels: 8, kernelSize: 4, stride: 2, padding: 1 })],
    ['OrthoLinear', () => new OrthoLinear(8, 8)],
  ];
  for (const [name, build] of builders) {
    const before = torch.memoryStats().liveTensors;
    build().dispose();
    assert.equal(torch.memoryStats().liveTensors - before, 0, `${name}: tensors left after dispose()`);
  }
});
