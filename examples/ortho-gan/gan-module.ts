// The script's training loop as a LightningModule under manual optimization,
// in the shape of Lightning's own GAN example: each batch first steps the
// discriminator (maximize log D(x) + log(1 − D(G(z)))), then the generator
// (maximize log D(G(z)), the non-saturating loss), each with its own Adam and
// with the other network toggled off. Fixed noise gives comparable samples.
import { F, Tensor, full, noGrad, randn, scope } from '../../src/torch/index.js';
import { Adam } from '../../src/optim/index.js';
import type { Batch } from '../../src/data/index.js';
import { LightningModule } from '../../src/train/index.js';
import type { ConfigureOptimizersResult } from '../../src/train/index.js';
import { GanArchitecture, OrthoDiscriminator, OrthoGenerator } from './models.js';

export interface OrthoGanOptions extends GanArchitecture {
  /** Adam's learning rate for both networks (the script's 1e-4). */
  lr?: number;
  /** Adam's β1 (the script's 0.5; β2 stays 0.999). */
  beta1?: number;
  /** How many fixed latent vectors the sample grids show (the script's 64). */
  sampleCount?: number;
}

/** The numbers the script prints: both losses, D on real images, D on fakes before and after D's step. */
export interface GanStats {
  lossD: number;
  lossG: number;
  /** Mean D(x) on the real batch. */
  dX: number;
  /** Mean D(G(z)) during D's step. */
  dGz1: number;
  /** Mean D(G(z)) during G's step, after D was updated. */
  dGz2: number;
}

const STAT_KEYS = ['lossD', 'lossG', 'dX', 'dGz1', 'dGz2'] as const;

export class OrthoGanModule extends LightningModule {
  readonly generator: OrthoGenerator;
  readonly discriminator: OrthoDiscriminator;
  /** [sampleCount, nz, 1, 1], drawn once: a buffer, so it follows the module's device and lives in checkpoints. */
  readonly fixedNoise: Tensor;
  override automaticOptimization = false;
  /** The latest batch's statistics. */
  lastStats: GanStats | null = null;
  /** Per-epoch means of the batch statistics, one entry per finished epoch. */
  readonly epochStats: GanStats[] = [];
  private sums: GanStats & { batches: number } = { lossD: 0, lossG: 0, dX: 0, dGz1: 0, dGz2: 0, batches: 0 };

  constructor(readonly options: OrthoGanOptions) {
    super();
    this.generator = this.registerModule('generator', new OrthoGenerator(options));
    this.discriminator = this.registerModule('discriminator', new OrthoDiscriminator(options));
    this.fixedNoise = this.registerBuffer('fixed_noise', randn([options.sampleCount ?? 64, options.nz, 1, 1]));
    const { imageSize, channels, nz, ngf, ndf } = options;
    this.saveHyperparameters({ imageSize, channels, nz, ngf, ndf, lr: options.lr ?? 1e-4, beta1: options.beta1 ?? 0.5 });
  }

  forward(z: Tensor): Tensor { return this.generator.forward(z); }

  configureOptimizers(): ConfigureOptimizersResult {
    const lr = this.options.lr ?? 1e-4;
    const betas: [number, number] = [this.options.beta1 ?? 0.5, 0.999];
    return [new Adam(this.discriminator.parameters(), { lr, betas }), new Adam(this.generator.parameters(), { lr, betas })];
  }

  trainingStep(batch: Batch): void {
    const [optD, optG] = this.optimizers();
    const real = batch.x;
    const size = real.shape[0];
    const realLabel = full([size], 1, { dtype: real.dtype, device: real.device });
    const fakeLabel = full([size], 0, { dtype: real.dtype, device: real.device });
    // One generator pass per batch, as the script: D's step sees it detached, G's step backpropagates through it.
    const fake = this.generator.forward(this.latent(size, real));

    this.toggleOptimizer(optD);
    optD.zeroGrad();
    const outReal = this.discriminator.forward(real).view(-1);
    const lossDReal = F.binaryCrossEntropy(outReal, realLabel);
    this.manualBackward(lossDReal);
    const outFake = this.discriminator.forward(fake.detach()).view(-1);
    const lossDFake = F.binaryCrossEntropy(outFake, fakeLabel);
    this.manualBackward(lossDFake);
    optD.step();
    this.untoggleOptimizer(optD);

    this.toggleOptimizer(optG);
    optG.zeroGrad();
    const outG = this.discriminator.forward(fake).view(-1); // D was just updated: a fresh pass
    const lossG = F.binaryCrossEntropy(outG, realLabel);
    this.manualBackward(lossG);
    optG.step();
    this.untoggleOptimizer(optG);

    const stats: GanStats = {
      lossD: lossDReal.item() + lossDFake.item(), lossG: lossG.item(),
      dX: outReal.mean().item(), dGz1: outFake.mean().item(), dGz2: outG.mean().item(),
    };
    this.lastStats = stats;
    for (const k of STAT_KEYS) this.sums[k] += stats[k];
    this.sums.batches++;
    this.logDict({ loss_d: stats.lossD, loss_g: stats.lossG, d_x: stats.dX, d_g_z1: stats.dGz1, d_g_z2: stats.dGz2 }, { onStep: true, onEpoch: true });
  }

  /** `size` latent vectors z ~ N(0, I), [size, nz, 1, 1], of `like`'s dtype and device. */
  protected latent(size: number, like: Tensor): Tensor {
    return randn([size, this.options.nz, 1, 1], { dtype: like.dtype, device: like.device });
  }

  override onTrainEpochStart(): void {
    this.sums = { lossD: 0, lossG: 0, dX: 0, dGz1: 0, dGz2: 0, batches: 0 };
  }

  override onTrainEpochEnd(): void {
    const n = Math.max(1, this.sums.batches);
    this.epochStats.push({ lossD: this.sums.lossD / n, lossG: this.sums.lossG / n, dX: this.sums.dX / n, dGz1: this.sums.dGz1 / n, dGz2: this.sums.dGz2 / n });
  }

  /**
   * G(noise) without gradients (default: the fixed noise), [B, C, S, S] in [-1, 1].
   * As in the script, the generator samples in training mode — BatchNorm
   * normalizes with the samples' own statistics (and updates its running ones) —
   * whatever mode the module is in (the Trainer switches to eval when fit ends).
   */
  sample(noise: Tensor = this.fixedNoise): Tensor {
    const wasTraining = this.generator.training;
    this.generator.train(true);
    try {
      return noGrad(() => scope(() => this.generator.forward(noise)));
    } finally {
      this.generator.train(wasTraining);
    }
  }
}
