// The orthogonal GAN example (examples/ortho-gan.ts): its architecture against
// Orthogonium's script, the generator's range, the discriminator's
// 1-Lipschitz critic, what one manual-optimization step changes, and a tiny
// run's files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { F, Tensor } from '../src/torch/index.js';
import { BatchNorm2d, Module, Tanh } from '../src/nn/index.js';
import { MaxMin, OrthoConv2dBase, OrthoConvTranspose2dBase } from '../src/ortho/index.js';
import type { Optimizer } from '../src/optim/index.js';
import { DEBIAN_FASHION_MNIST_DIR, decodePng, loadMnistArrays } from '../src/data/index.js';
import type { Batch } from '../src/data/index.js';
import { Trainer } from '../src/train/index.js';
import { OrthoDiscriminator, OrthoGenerator, doublingStages } from '../examples/ortho-gan/models.js';
import type { GanArchitecture } from '../examples/ortho-gan/models.js';
import { OrthoGanModule } from '../examples/ortho-gan/gan-module.js';
import { TensorLoader, loadGanImages } from '../examples/ortho-gan/data.js';
import { parseGanArgs, runGan } from '../examples/ortho-gan.js';
import { ascentPairRatio, randomPairRatio } from './helpers/lipschitz.js';
import { captureOutput } from './helpers/tiny-training.js';

const TOL = 1e-4;
const noData = !existsSync(DEBIAN_FASHION_MNIST_DIR) && 'dataset-fashion-mnist is not installed';
const small = (imageSize: number): GanArchitecture => ({ imageSize, channels: 1, nz: 12, ngf: 8, ndf: 8 });

/** [kind, in, out, kernel, stride, padding] of each orthogonal convolution, in order. */
function convs(m: Module): string[] {
  return m.modules().filter((x) => x instanceof OrthoConv2dBase || x instanceof OrthoConvTranspose2dBase).map((x) => {
    const c = x as OrthoConv2dBase | OrthoConvTranspose2dBase;
    const padding = c instanceof OrthoConv2dBase ? `${Array.isArray(c.padding) ? c.padding[0] : c.padding} ${c.paddingMode}` : `${c.padding[0]}`;
    return `${c instanceof OrthoConv2dBase ? 'conv' : 'convT'} ${c.inChannels}→${c.outChannels} k${c.kernelSize[0]} s${c.stride[0]} p${padding} bias=${c.bias !== null}`;
  });
}

test('--image-size 64 with ngf = ndf = 64 and 3 channels is the script\'s architecture; 32 drops the widest stage', () => {
  const script: GanArchitecture = { imageSize: 64, channels: 3, nz: 100, ngf: 64, ndf: 64 };
  const g = new OrthoGenerator(script);
  // The script's Generator: nz → 512 (k4 s1 p0), 512 → 256 → 128 → 64 (k4 s2 p1), 64 → 3, each but the last with MaxMin + BatchNorm2d.
  assert.deepEqual(convs(g), [
    'convT 100→512 k4 s1 p0 bias=false', 'convT 512→256 k4 s2 p1 bias=false', 'convT 256→128 k4 s2 p1 bias=false',
    'convT 128→64 k4 s2 p1 bias=false', 'convT 64→3 k4 s2 p1 bias=false',
  ]);
  const kinds = g.main.children().map((m) => m.constructor.name);
  assert.deepEqual(kinds.filter((k) => k === 'MaxMin' || k === 'BatchNorm2d' || k === 'Tanh'),
    ['MaxMin', 'BatchNorm2d', 'MaxMin', 'BatchNorm2d', 'MaxMin', 'BatchNorm2d', 'MaxMin', 'BatchNorm2d', 'Tanh']);
  assert.ok(g.main.at(-1) instanceof Tanh);
  // weights_init: BatchNorm weights ~ N(1, 0.02), biases 0.
  const bn = g.modules().filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  assert.deepEqual(bn.map((b) => b.numFeatures), [512, 256, 128, 64]);
  for (const b of bn) {
    const w = b.weight!;
    assert.ok(Math.abs(w.mean().item() - 1) < 0.01 && w.std().item() > 0.01 && w.std().item() < 0.03, `BatchNorm weight mean ${w.mean().item()}, std ${w.std().item()}`);
    assert.equal(b.bias!.abs().max().item(), 0);
  }
  const d = new OrthoDiscriminator(script);
  // The script's Discriminator: 3 → 64 → 128 → 256 → 512 (k4 s2 p1), 512 → 1 (k4 s1 p0), zero padding, MaxMin between.
  assert.deepEqual(convs(d), [
    'conv 3→64 k4 s2 p1 zeros bias=false', 'conv 64→128 k4 s2 p1 zeros bias=false', 'conv 128→256 k4 s2 p1 zeros bias=false',
    'conv 256→512 k4 s2 p1 zeros bias=false', 'conv 512→1 k4 s1 p0 zeros bias=false',
  ]);
  assert.equal(d.critic.children().filter((m) => m instanceof MaxMin).length, 4);
  g.dispose();
  d.dispose();

  const g32 = new OrthoGenerator({ ...script, imageSize: 32, channels: 1 });
  assert.deepEqual(convs(g32).map((s) => s.split(' ')[1]), ['100→256', '256→128', '128→64', '64→1']);
  const d32 = new OrthoDiscriminator({ ...script, imageSize: 32, channels: 1 });
  assert.deepEqual(convs(d32).map((s) => s.split(' ')[1]), ['1→64', '64→128', '128→256', '256→1']);
  g32.dispose();
  d32.dispose();
});

test('image sizes must be 4·2^k; odd widths cannot feed MaxMin', async () => {
  assert.deepEqual([4, 8, 16, 32, 64, 128].map(doublingStages), [0, 1, 2, 3, 4, 5]);
  for (const bad of [0, 2, 12, 28, 48, 31.5]) assert.throws(() => doublingStages(bad), /image size must be 4·2\^k/);
  assert.throws(() => new OrthoGenerator({ ...small(16), ngf: 7 }), /ngf and ndf must be even/);
  // The run refuses the size before reading any data.
  await assert.rejects(runGan({ imageSize: 48, dataDir: '/nonexistent', out: join(tmpdir(), 'never-written') }), /image size must be 4·2\^k .* got 48/);
  assert.throws(() => parseGanArgs(['--image-size', 'x']), /--image-size needs a positive integer, got 'x'/);
  assert.throws(() => parseGanArgs(['--frobnicate']), /unknown option --frobnicate/);
  assert.deepEqual(parseGanArgs(['--epochs', '3', '--lr', '2e-4', '--out', 'o', '--json']), { epochs: 3, lr: 2e-4, out: 'o', json: true });
});

test('the generator maps [B, nz, 1, 1] to [B, C, S, S] in [-1, 1] for every size', () => {
  torch.manualSeed(1);
  for (const size of [4, 8, 16, 32]) {
    const g = new OrthoGenerator({ ...small(size), channels: 3 });
    torch.scope(() => {
      const out = g.forward(torch.randn([5, 12, 1, 1]).mul(5));
      assert.deepEqual(out.shape, [5, 3, size, size]);
      assert.ok(out.abs().max().item() <= 1, `size ${size}: max |x| ${out.abs().max().item()}`);
      assert.ok(out.std().item() > 0.01, 'not a constant image');
    });
    assert.throws(() => g.forward(torch.randn([2, 12, 2, 2])), /expected latent vectors \[B, 12, 1, 1\]/);
    g.dispose();
  }
});

test('the discriminator before its sigmoid is 1-Lipschitz (random pairs and a gradient-ascent attack); its outputs lie in (0, 1)', () => {
  torch.manualSeed(2);
  const d = new OrthoDiscriminator({ ...small(16), channels: 2 });
  d.to('float64');
  const critic = { forward: (x: Tensor) => d.logits(x) } as unknown as Module;
  const random = randomPairRatio(critic, [2, 16, 16], 32, 0.1);
  const attacked = ascentPairRatio(critic, [2, 16, 16], 8, 30);
  assert.ok(random <= 1 + TOL, `random pairs: ratio ${random}`);
  assert.ok(attacked <= 1 + TOL, `attacked pairs: ratio ${attacked}`);
  assert.ok(attacked > 0.05, `the attack found real slopes (${attacked}), so the bound is not vacuous`);
  torch.noGrad(() => torch.scope(() => {
    // No biases and MaxMin(0) = 0: D(0) = sigmoid(0) = 1/2, so |logit(x)| ≤ ‖x‖.
    assert.equal(d.forward(torch.zeros([1, 2, 16, 16], { dtype: 'float64' })).item(), 0.5);
    const x = torch.rand([16, 2, 16, 16], { dtype: 'float64' }).mul(2).sub(1);
    const logits = d.logits(x).flatten();
    assert.ok(logits.abs().le(x.flatten(1).norm(2, 1).add(TOL)).all().item());
    const p = d.forward(x);
    assert.deepEqual(p.shape, [16, 1, 1, 1]);
    assert.ok(p.gt(0).all().item() && p.lt(1).all().item(), 'probabilities strictly inside (0, 1)');
  }));
  assert.throws(() => d.forward(torch.zeros([1, 1, 16, 16], { dtype: 'float64' })), /expected images \[B, 2, 16, 16\]/);
  d.dispose();
});

interface StepRecord {
  owner: 'D' | 'G';
  d: Tensor[];
  g: Tensor[];
  gRequiresGrad: boolean[];
  dRequiresGrad: boolean[];
  gGradNorm: number;
  dGradNorm: number;
  /** Both losses on this batch's real images and latent vectors, with the weights of this moment. */
  lossD: number;
  lossG: number;
}

/** Records, at each optimizer step, which network it belongs to, the state of both, and the losses on the step's own batch. */
class ObservedGan extends OrthoGanModule {
  readonly seen: StepRecord[] = [];
  real: Tensor | null = null;
  noise: Tensor | null = null;
  /** The losses right after the batch (both steps taken), still in training mode. */
  after: { lossD: number; lossG: number } | null = null;

  override trainingStep(batch: Batch): void {
    this.real = torch.keep(batch.x.clone());
    super.trainingStep(batch);
  }

  protected override latent(size: number, like: Tensor): Tensor {
    const z = super.latent(size, like);
    this.noise = torch.keep(z.clone());
    return z;
  }

  /** The script's two losses on the recorded batch, without gradients. */
  losses(): { lossD: number; lossG: number } {
    return torch.noGrad(() => torch.scope(() => {
      const pReal = this.discriminator.forward(this.real!).view(-1);
      const pFake = this.discriminator.forward(this.generator.forward(this.noise!)).view(-1);
      const ones = torch.onesLike(pReal);
      return {
        lossD: F.binaryCrossEntropy(pReal, ones).item() + F.binaryCrossEntropy(pFake, torch.zerosLike(pFake)).item(),
        lossG: F.binaryCrossEntropy(pFake, ones).item(),
      };
    }));
  }

  override onTrainBatchEnd(): void {
    this.after = this.losses();
  }

  override onBeforeOptimizerStep(optimizer: Optimizer): void {
    const params = optimizer.paramGroups[0].params;
    const owner = params.includes(this.discriminator.parameters()[0]) ? 'D' : 'G';
    const gradNorm = (ps: Tensor[]) => torch.scope(() => Math.sqrt(ps.reduce((s, p) => s + (p.grad ? p.grad.square().sum().item() : 0), 0)));
    this.seen.push({
      owner,
      d: torch.keep(this.discriminator.parameters().map((p) => p.detach().clone())),
      g: torch.keep(this.generator.parameters().map((p) => p.detach().clone())),
      gRequiresGrad: this.generator.parameters().map((p) => p.requiresGrad),
      dRequiresGrad: this.discriminator.parameters().map((p) => p.requiresGrad),
      gGradNorm: gradNorm(this.generator.parameters()),
      dGradNorm: gradNorm(this.discriminator.parameters()),
      ...this.losses(),
    });
  }
}

/** Largest elementwise change (a 1-channel BCOP stage has an empty parameter: a 1×1 orthogonal matrix has nothing to learn). */
const maxChange = (a: Tensor[], b: Tensor[]): number =>
  torch.scope(() => Math.max(...a.map((t, i) => (t.numel() === 0 ? 0 : t.sub(b[i]).abs().max().item()))));

test('one training step under manual optimization: D\'s Adam moves D alone (G toggled off), then G\'s Adam moves G alone', async () => {
  torch.manualSeed(3);
  const module = new ObservedGan({ ...small(8), lr: 1e-4 });
  const images = torch.rand([6, 1, 8, 8]).mul(2).sub(1);
  const loader = new TensorLoader({ images, labels: torch.zeros([6], { dtype: 'int64' }) }, 6);
  const trainer = new Trainer({ maxEpochs: 1, enableProgressBar: false, enableModelSummary: false, logger: false, enableCheckpointing: false, output: captureOutput() });
  const result = await trainer.fit(module, loader);
  assert.equal(result.globalStep, 2, 'two optimizer steps for the one batch');
  assert.deepEqual(trainer.optimizers.map((o) => [o.paramGroups[0].lr, ...(o.paramGroups[0] as unknown as { betas: number[] }).betas]), [[1e-4, 0.5, 0.999], [1e-4, 0.5, 0.999]]);
  const [dStep, gStep] = module.seen;
  assert.deepEqual([dStep.owner, gStep.owner], ['D', 'G'], 'the discriminator steps first, as in the script');
  // D's step: G's parameters are toggled off and hold no gradient; D's have one.
  assert.ok(dStep.gRequiresGrad.every((r) => !r) && dStep.dRequiresGrad.every((r) => r));
  assert.equal(dStep.gGradNorm, 0);
  assert.ok(dStep.dGradNorm > 0);
  // Between the two steps D moved by Adam's first step (each element by at most lr, here about lr) and G did not move.
  const dMoved = maxChange(gStep.d, dStep.d);
  assert.ok(dMoved > 0.5e-4 && dMoved <= 1e-4 * 1.001, `D's largest change in its first Adam step: ${dMoved}`);
  assert.equal(maxChange(gStep.g, dStep.g), 0, 'G untouched by D\'s step');
  // G's step: D toggled off, G's gradients present.
  assert.ok(gStep.dRequiresGrad.every((r) => !r) && gStep.gRequiresGrad.every((r) => r));
  assert.ok(gStep.gGradNorm > 0);
  const gAfter = module.generator.parameters().map((p) => p.detach());
  const dAfter = module.discriminator.parameters().map((p) => p.detach());
  const gMoved = maxChange(gAfter, gStep.g);
  assert.ok(gMoved > 0.5e-4 && gMoved <= 1e-4 * 1.001, `G's largest change in its first Adam step: ${gMoved}`);
  assert.equal(maxChange(dAfter, gStep.d), 0, 'D untouched by G\'s step');
  assert.ok(module.discriminator.parameters().every((p) => p.requiresGrad) && module.generator.parameters().every((p) => p.requiresGrad), 'untoggled after the step');
  // Each step descends its own loss on the batch (Adam's first step moves every weight against its gradient's sign):
  // D's step lowers Loss_D, G's step lowers Loss_G (the non-saturating −log D(G(z))).
  const final = module.after!;
  assert.ok(gStep.lossD < dStep.lossD, `Loss_D ${dStep.lossD} → ${gStep.lossD} over D's step`);
  assert.ok(final.lossG < gStep.lossG, `Loss_G ${gStep.lossG} → ${final.lossG} over G's step`);
  // The statistics the script prints: Loss_D as computed before D's step, Loss_G before G's step, and by Jensen
  // Loss_G = mean −log D(G(z)) ≥ −log mean D(G(z)).
  const s = module.lastStats!;
  assert.ok(Math.abs(s.lossD - dStep.lossD) < 1e-5 && Math.abs(s.lossG - gStep.lossG) < 1e-5, `${JSON.stringify(s)} vs ${dStep.lossD}, ${gStep.lossG}`);
  assert.ok(s.dX > 0 && s.dX < 1 && s.dGz1 > 0 && s.dGz1 < 1 && s.dGz2 > 0 && s.dGz2 < 1);
  assert.ok(s.lossG >= -Math.log(s.dGz2) - 1e-6 && s.lossD >= -Math.log(s.dX) - Math.log(1 - s.dGz1) - 1e-6, JSON.stringify(s));
  trainer.dispose();
  module.dispose();
  for (const t of [...module.seen.flatMap((step) => [...step.d, ...step.g]), module.real!, module.noise!]) t.dispose();
});

test('TensorLoader: every image once per epoch, a new order each epoch, the same order for the same seed', async () => {
  const labels = torch.arange(0, 10, 1);
  const data = { images: labels.to('float32').view(10, 1, 1, 1), labels };
  const epoch = async (loader: TensorLoader) => {
    const seen: number[][] = [];
    for await (const b of loader) {
      assert.ok(b.x.view(-1).equal(b.y.to('float32')), 'images and labels stay paired');
      seen.push(b.y.toFlatArray());
      b.x.dispose();
      b.y.dispose();
    }
    return seen;
  };
  const a = new TensorLoader(data, 4, { seed: 5 });
  assert.equal(a.length, 3);
  const first = await epoch(a);
  assert.deepEqual(first.map((b) => b.length), [4, 4, 2]);
  assert.deepEqual(first.flat().sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const second = await epoch(a);
  assert.notDeepEqual(second, first);
  assert.deepEqual(await epoch(new TensorLoader(data, 4, { seed: 5 })), first);
  assert.equal(new TensorLoader(data, 4, { dropLast: true }).length, 2);
  assert.deepEqual((await epoch(new TensorLoader(data, 4, { shuffle: false }))).flat(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('the training images: Fashion-MNIST pixels scaled to [-1, 1] as Normalize((0.5,), (0.5,)), resized to the chosen side', { skip: noData }, () => {
  const raw = loadMnistArrays(DEBIAN_FASHION_MNIST_DIR, true).images.subarray(0, 3 * 784);
  const same = loadGanImages({ imageSize: 28, count: 3 });
  assert.deepEqual(same.images.shape, [3, 1, 28, 28]);
  const values = same.images.toFlatArray();
  for (let i = 0; i < raw.length; i += 97) assert.ok(Math.abs(values[i] - (raw[i] / 255 - 0.5) / 0.5) < 1e-6, `pixel ${i}`);
  const resized = loadGanImages({ imageSize: 32, count: 3 });
  assert.deepEqual(resized.images.shape, [3, 1, 32, 32]);
  assert.ok(resized.images.min().item() >= -1 && resized.images.max().item() <= 1);
  // Bilinear resizing keeps each image's mean brightness (up to the border's rounding).
  const means = (t: Tensor) => t.flatten(1).mean(1).toFlatArray();
  means(resized.images).forEach((m, i) => assert.ok(Math.abs(m - means(same.images)[i]) < 0.02, `image ${i}: ${m} vs ${means(same.images)[i]}`));
  assert.throws(() => loadGanImages({ imageSize: 32, count: 0 }), /--train must be an integer from 1 to 60000/);
});

test('a tiny run writes real_images.png, one grid per epoch and at the end (decodable, of make_grid\'s size) and the losses as CSV', { skip: noData }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'ortho-gan-'));
  try {
    const result = await runGan({ trainSize: 40, batchSize: 16, epochs: 2, imageSize: 16, nz: 12, ngf: 8, ndf: 8, out, quiet: true, seed: 4 });
    assert.equal(result.batchesPerEpoch, 3);
    assert.deepEqual(result.images.map((p) => p.slice(out.length + 1)), ['real_images.png', 'fake_epoch_1.png', 'fake_epoch_2.png', 'fake_images.png']);
    // real: 40 images of 16×16, 8 per row → 5 rows; fakes: the 64 fixed latent vectors → 8 rows. Each cell 16 + 2, plus 2.
    const sizes = result.images.map((p) => {
      const png = decodePng(readFileSync(p), p);
      return [png.channels, png.height, png.width];
    });
    assert.deepEqual(sizes, [[3, 5 * 18 + 2, 8 * 18 + 2], [3, 146, 146], [3, 146, 146], [3, 146, 146]]);
    // Sampled in training mode as the script does, the end-of-fit grid is the last epoch's (same weights, same noise).
    assert.ok(readFileSync(result.images[3]).equals(readFileSync(result.images[2])));
    assert.ok(!readFileSync(result.images[1]).equals(readFileSync(result.images[2])), 'the epochs\' grids differ: G learned');
    const real = decodePng(readFileSync(result.images[0]));
    assert.equal(real.data[0], 0, 'padding is black');
    assert.ok(Math.max(...real.data) === 255, 'normalized: the brightest pixel is white');

    const [header, ...lines] = readFileSync(result.metricsCsv, 'utf8').trim().split('\n');
    const names = header.split(',');
    for (const n of ['step', 'loss_d_step', 'loss_g_step', 'd_x_step', 'd_g_z1_step', 'd_g_z2_step', 'loss_d_epoch', 'loss_g_epoch']) assert.ok(names.includes(n), `column ${n} in ${header}`);
    const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], v === '' ? undefined : Number(v)])));
    const stepRows = rows.filter((r) => r.loss_d_step !== undefined);
    const epochRows = rows.filter((r) => r.loss_d_epoch !== undefined);
    assert.equal(stepRows.length, 6, 'one row per iteration (2 epochs × 3 batches)');
    assert.equal(epochRows.length, 2);
    for (const r of stepRows) assert.ok(Number.isFinite(r.loss_d_step) && Number.isFinite(r.loss_g_step) && r.d_x_step! > 0 && r.d_x_step! < 1);
    // The per-epoch means the run reports are the epoch rows of the CSV (batch-size-weighted: 16, 16, 8).
    assert.equal(result.epochStats.length, 2);
    epochRows.forEach((r, e) => {
      const batch = stepRows.slice(3 * e, 3 * e + 3);
      const weighted = (16 * batch[0].loss_g_step! + 16 * batch[1].loss_g_step! + 8 * batch[2].loss_g_step!) / 40;
      assert.ok(Math.abs(r.loss_g_epoch! - weighted) < 1e-5, `epoch ${e}: ${r.loss_g_epoch} vs ${weighted}`);
      const plain = batch.reduce((s, b) => s + b.loss_d_step!, 0) / 3;
      assert.ok(Math.abs(result.epochStats[e].lossD - plain) < 1e-5, 'epochStats: the mean over batches, as the script\'s per-iteration lists');
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
