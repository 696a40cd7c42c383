// What the script does around its loop: print the statistics every 50
// iterations and at each epoch's end, and keep G's samples of the fixed noise
// (here as PNG grids, one per epoch and one at the end, normalized to [0, 1]
// as the script's make_grid(fake, padding=2, normalize=True)).
import { join } from 'node:path';
import { saveImage } from '../../src/data/index.js';
import { Callback } from '../../src/train/index.js';
import type { LightningModule, Trainer } from '../../src/train/index.js';
import { GanStats, OrthoGanModule } from './gan-module.js';

const asGan = (module: LightningModule): OrthoGanModule => {
  if (!(module instanceof OrthoGanModule)) throw new TypeError('the GAN callbacks need an OrthoGanModule');
  return module;
};

const describe = (s: GanStats): string =>
  `Loss_D: ${s.lossD.toFixed(4)}\tLoss_G: ${s.lossG.toFixed(4)}\tD(x): ${s.dX.toFixed(4)}\tD(G(z)): ${s.dGz1.toFixed(4)} / ${s.dGz2.toFixed(4)}`;

/** The script's progress lines: `[epoch/epochs][i/batches]` every `every` batches, and the epoch's means. */
export class GanProgressPrinter extends Callback {
  constructor(private readonly batchesPerEpoch: number, private readonly every = 50) { super(); }

  override onTrainBatchEnd(trainer: Trainer, module: LightningModule, _loss: number, batchIndex: number): void {
    const stats = asGan(module).lastStats;
    if (this.every > 0 && batchIndex % this.every === 0 && stats) {
      trainer.print(`[${trainer.currentEpoch}/${trainer.maxEpochs}][${batchIndex}/${this.batchesPerEpoch}]\t${describe(stats)}`);
    }
  }

  override onTrainEpochEnd(trainer: Trainer, module: LightningModule): void {
    const stats = asGan(module).epochStats.at(-1);
    if (stats) trainer.print(`epoch ${trainer.currentEpoch + 1}/${trainer.maxEpochs} means\t${describe(stats)}`);
  }
}

/** Writes G(fixed noise) as `fake_epoch_<n>.png` after every epoch and `fake_images.png` when the fit ends. */
export class SampleGridWriter extends Callback {
  /** The files written, in order. */
  readonly written: string[] = [];

  constructor(private readonly dir: string) { super(); }

  private write(module: LightningModule, name: string): void {
    const samples = asGan(module).sample();
    try {
      const path = join(this.dir, name);
      saveImage(samples, path, { padding: 2, normalize: true });
      this.written.push(path);
    } finally {
      samples.dispose();
    }
  }

  override onTrainEpochEnd(trainer: Trainer, module: LightningModule): void {
    this.write(module, `fake_epoch_${trainer.currentEpoch + 1}.png`);
  }

  override onFitEnd(_trainer: Trainer, module: LightningModule): void {
    this.write(module, 'fake_images.png');
  }
}
