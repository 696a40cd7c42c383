// GradScaler (loss scaling for float16 mixed precision) and the Trainer's
// '16-mixed' precision. The scaler's arithmetic runs on any device, so it is
// tested on the CPU against its definition; the float16 autocast path needs CUDA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Tensor } from '../src/torch/index.js';
import { Linear } from '../src/nn/index.js';
import { GradScaler, SGD } from '../src/optim/index.js';
import { ClassificationModule, PrecisionPlugin, Trainer } from '../src/train/index.js';
import { LossXent } from '../src/losses/index.js';
import { TINY_STD, captureOutput, tinyData, tinyModel } from './helpers/tiny-training.js';

/** A float64 linear layer, an SGD optimizer on it, and a fixed batch. */
function problem(seed = 1) {
  torch.manualSeed(seed);
  const layer = new Linear(5, 3, { dtype: 'float64' });
  const x = torch.randn([4, 5], { dtype: 'float64' });
  const lossOf = () => layer.forward(x).square().mean();
  return { layer, lossOf, optimizer: new SGD(layer.parameters(), { lr: 0.1 }) };
}

const flat = (ts: Tensor[]) => ts.map((t) => t.toFlatArray());

test('scaled backward + unscale_ gives the unscaled gradients exactly; step() then takes the plain step', () => {
  const plain = problem();
  plain.lossOf().backward();
  const expectedGrads = flat(plain.layer.parameters().map((p) => p.grad!));
  plain.optimizer.step();

  const scaled = problem();
  const scaler = new GradScaler();
  assert.equal(scaler.getScale(), 2 ** 16);
  const loss = scaler.scale(scaled.lossOf());
  loss.backward();
  // The gradients really were scaled by 2^16 before unscale_ (a power of two: exact in binary floating point).
  assert.deepEqual(flat(scaled.layer.parameters().map((p) => p.grad!.div(2 ** 16))), expectedGrads);
  scaler.unscale_(scaled.optimizer);
  assert.deepEqual(flat(scaled.layer.parameters().map((p) => p.grad!)), expectedGrads);
  assert.equal(scaler.step(scaled.optimizer), true);
  scaler.update();
  assert.deepEqual(flat(scaled.layer.parameters()), flat(plain.layer.parameters()));
  assert.equal(scaler.getScale(), 2 ** 16, 'one clean step does not grow the scale');
});

test('an overflowing step is skipped, the scale backs off and the growth count restarts', () => {
  const { layer, lossOf, optimizer } = problem();
  const scaler = new GradScaler({ initScale: 1e308, growthInterval: 2 });
  const before = flat(layer.parameters());
  // A clean step first, so that the growth count is 1 when the overflow comes.
  scaler.update(4);
  scaler.scale(lossOf()).backward();
  assert.equal(scaler.step(optimizer), true);
  scaler.update();
  assert.equal(scaler.stateDict()._growth_tracker, 1);
  const afterClean = flat(layer.parameters());
  assert.notDeepEqual(afterClean, before);

  optimizer.zeroGrad();
  scaler.update(1e308);
  scaler.scale(lossOf().mul(1000)).backward(); // 1e308 × a gradient above 1.8 overflows to Inf
  assert.ok(layer.parameters().some((p) => !p.grad!.isfinite().all().item()), 'the scaled gradients overflowed');
  assert.equal(scaler.step(optimizer), false);
  assert.deepEqual(flat(layer.parameters()), afterClean, 'parameters untouched by the skipped step');
  scaler.update();
  assert.equal(scaler.getScale(), 1e308 * 0.5);
  assert.equal(scaler.stateDict()._growth_tracker, 0);

  // A NaN gradient is caught the same way.
  optimizer.zeroGrad();
  scaler.update(8);
  lossOf().backward();
  torch.noGrad(() => layer.weight.grad!.view([-1]).narrow(0, 2, 1).fill_(NaN));
  assert.equal(scaler.step(optimizer), false);
  scaler.update();
  assert.equal(scaler.getScale(), 4);
});

test('the scale grows after growthInterval clean steps; the state dict restores it', () => {
  const { lossOf, optimizer } = problem();
  const scaler = new GradScaler({ initScale: 8, growthInterval: 3, growthFactor: 4, backoffFactor: 0.25 });
  const scales: number[] = [];
  for (let i = 0; i < 7; i++) {
    optimizer.zeroGrad();
    scaler.scale(lossOf()).backward();
    scaler.step(optimizer);
    scaler.update();
    scales.push(scaler.getScale());
  }
  assert.deepEqual(scales, [8, 8, 32, 32, 32, 128, 128]);
  const state = scaler.stateDict();
  assert.deepEqual(state, { scale: 128, growth_factor: 4, backoff_factor: 0.25, growth_interval: 3, _growth_tracker: 1 });
  const restored = new GradScaler();
  restored.loadStateDict(state);
  assert.deepEqual(restored.stateDict(), state);
  assert.throws(() => restored.loadStateDict({ ...state, _growth_tracker: 3 }), /_growth_tracker must be an integer in \[0, growth_interval\)/);
});

test('misuse and bad options are named; a disabled scaler passes everything through', () => {
  const { layer, lossOf, optimizer } = problem();
  const scaler = new GradScaler();
  assert.throws(() => scaler.unscale_(optimizer), /no parameter of this optimizer has a gradient/);
  scaler.scale(lossOf()).backward();
  scaler.unscale_(optimizer);
  assert.throws(() => scaler.unscale_(optimizer), /already called for this optimizer since the last update\(\)/);
  scaler.step(optimizer);
  assert.throws(() => scaler.step(optimizer), /GradScaler.step: already called/);
  assert.throws(() => scaler.unscale_(optimizer), /called after step\(\)/);
  scaler.update();
  assert.throws(() => scaler.update(), /no optimizer was stepped or unscaled/);
  assert.throws(() => new GradScaler({ growthFactor: 1 }), /growthFactor must be above 1/);
  assert.throws(() => new GradScaler({ backoffFactor: 1.5 }), /backoffFactor must be in \(0, 1\)/);
  assert.throws(() => new GradScaler({ initScale: -1 }), /the scale must be a positive number/);
  assert.throws(() => new GradScaler({ growthInterval: 0.5 }), /growthInterval must be a positive integer/);
  const half = new Linear(2, 2).to('float16');
  const halfOpt = new SGD(half.parameters(), { lr: 0.1 });
  for (const p of half.parameters()) p.grad = torch.onesLike(p);
  assert.throws(() => new GradScaler().unscale_(halfOpt), /a gradient is float16; keep the parameters in float32/);

  const off = new GradScaler({ enabled: false });
  const loss = lossOf();
  assert.equal(off.scale(loss), loss);
  assert.equal(off.getScale(), 1);
  optimizer.zeroGrad();
  loss.backward();
  const before = flat(layer.parameters());
  assert.equal(off.step(optimizer), true);
  assert.notDeepEqual(flat(layer.parameters()), before);
});

test("'16-mixed' needs CUDA: a clear error on the CPU, from the Trainer and the precision plugin", { skip: torch.cuda.isAvailable() && 'CUDA is available' }, () => {
  assert.throws(() => new Trainer({ precision: '16-mixed' }), /precision '16-mixed' runs float16 autocast, which needs a CUDA device; on CPU use 'bf16-mixed'/);
  assert.throws(() => new PrecisionPlugin('16-mixed', 'cpu'), /needs a CUDA device/);
  assert.equal(new PrecisionPlugin('bf16-mixed', 'cpu').scaler, null);
  // The command refuses it before writing a run folder.
  const parent = mkdtempSync(join(tmpdir(), 'ortho-fp16-cli-'));
  try {
    const out = join(parent, 'run');
    const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
    const run = spawnSync(process.execPath, [cli, 'train', '--dataset', 'cifar10', '--data-dir', join(parent, 'no-such-folder'), '--precision', '16-mixed', '--out', out], { encoding: 'utf8' });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /precision '16-mixed' runs float16 autocast, which needs a CUDA device/);
    assert.equal(existsSync(out), false, 'no run folder');
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test("'16-mixed' on CUDA trains the tiny problem with a loss scaler and restores its state", { skip: !torch.cuda.isAvailable() && 'no CUDA device' }, async () => {
  torch.manualSeed(0);
  const module = new ClassificationModule({ model: tinyModel(), loss: new LossXent({ nClasses: 3, offset: 0.5, temperature: 0.25 }), lipschitz: 1 / TINY_STD[0], eps: 0.05, lr: 0.02 });
  const trainer = new Trainer({ maxEpochs: 3, precision: '16-mixed', accelerator: 'cuda', gradientClipVal: 1, output: captureOutput(), enableProgressBar: false });
  const r = await trainer.fit(module, tinyData());
  assert.ok(r.metrics.val_accuracy > 0.8, `val accuracy ${r.metrics.val_accuracy}`);
  assert.ok(trainer.precisionPlugin.scaler!.getScale() > 0);
  assert.ok(trainer.precisionPlugin.skippedSteps < r.globalStep / 2, `skipped ${trainer.precisionPlugin.skippedSteps} of ${r.globalStep}`);
  const dir = mkdtempSync(join(tmpdir(), 'ortho-fp16-'));
  try {
    await trainer.saveCheckpoint(join(dir, 'last.ckpt'));
    const again = new Trainer({ maxEpochs: 3, precision: '16-mixed', accelerator: 'cuda', output: captureOutput(), enableProgressBar: false });
    await again.fit(module, tinyData(), { ckptPath: join(dir, 'last.ckpt') });
    assert.deepEqual(again.precisionPlugin.stateDict(), trainer.precisionPlugin.stateDict());
    again.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  trainer.dispose();
  module.dispose();
});
