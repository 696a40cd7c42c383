// The seed tutorial ("Orthogonium on CIFAR-10") told with this library's
// TypeScript API: pick a training setting, wrap the seed's model in the
// ClassificationModule (loss, accuracy, VRA, schedule-free AdamW), hand it and
// a data module to the Trainer, fit, and keep the trained model.
//
//   npm run tutorial -- --setting mildly_robust --epochs 2            (Fashion-MNIST, CPU)
//   npm run tutorial -- --dataset cifar10 --data-dir ./data --device cuda --precision bf16-mixed   (the seed, on a GPU)
import { manualSeed } from '../src/torch/index.js';
import { buildPreset, summary } from '../src/models/index.js';
import { lipschitzFromStd } from '../src/losses/index.js';
import { Cifar10DataModule, DatasetModule, openDataset } from '../src/data/index.js';
import { ClassificationModule, SETTINGS, SettingName, Trainer, saveCheckpoint } from '../src/train/index.js';
import type { Accelerator, DataModuleLike, Precision } from '../src/train/index.js';
import { flagNumber, flagValue } from './args.js';

export interface TutorialOptions {
  setting: SettingName;
  dataset: 'fashion-mnist' | 'cifar10';
  dataDir?: string;
  epochs?: number;
  batchSize?: number;
  limitTrainBatches?: number;
  limitValBatches?: number;
  device?: Accelerator;
  precision?: Precision;
  /** Where to save the trained model (like the seed's single_stage.pth); none by default. */
  save?: string;
  quiet?: boolean;
}

export async function runTutorial(o: TutorialOptions): Promise<Record<string, number>> {
  // 1. The setting: its loss and its number of epochs.
  const setting = SETTINGS[o.setting];
  // 2. The data: CIFAR-10 exactly as the seed prepares it, or Fashion-MNIST for a CPU.
  const dataset = openDataset(o.dataset, o.dataDir);
  const data: DataModuleLike = o.dataset === 'cifar10'
    ? new Cifar10DataModule({ root: dataset.info.root, batchSize: o.batchSize })
    : new DatasetModule(dataset, { batchSize: o.batchSize ?? 128 });
  // 3. The model (the seed's PatchBasedExpandedCNN, or its CPU-sized sibling) inside the classification module.
  manualSeed(0);
  const model = buildPreset(o.dataset === 'cifar10' ? 'seed-cifar10' : 'fmnist-small');
  const module = new ClassificationModule({
    model,
    loss: setting.loss(10, dataset.info.std),
    lipschitz: lipschitzFromStd(dataset.info.std), // VRA is measured in the raw pixel space
    eps: 36 / 255,
    lr: 5e-3,
    weightDecay: 0,
  });
  if (!o.quiet) console.log(summary(model, [1, ...dataset.info.shape]).text);
  // 4. The Trainer, as the seed configures Lightning's.
  const trainer = new Trainer({
    accelerator: o.device ?? 'auto',
    precision: o.precision ?? '32',
    maxEpochs: o.epochs ?? setting.epochs,
    limitTrainBatches: o.limitTrainBatches,
    limitValBatches: o.limitValBatches,
    enableProgressBar: !o.quiet,
    output: o.quiet ? { write: () => true } : process.stdout,
  });
  const result = await trainer.fit(module, data);
  // 5. Keep the trained model (with what certifying it later needs).
  if (o.save) saveCheckpoint(o.save, model, { dataset: o.dataset, mean: dataset.info.mean, std: dataset.info.std, setting: o.setting });
  trainer.dispose();
  module.dispose();
  return result.metrics;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const value = flagValue;
  const number = flagNumber;
  const setting = (value('--setting') ?? 'mildly_robust') as SettingName;
  if (!(setting in SETTINGS)) {
    console.error(`tutorial: --setting must be one of ${Object.keys(SETTINGS).join(', ')}`);
    process.exit(2);
  }
  const metrics = await runTutorial({
    setting, dataset: (value('--dataset') ?? 'fashion-mnist') as TutorialOptions['dataset'], dataDir: value('--data-dir'),
    epochs: number('--epochs'), batchSize: number('--batch-size'), device: value('--device') as Accelerator | undefined,
    precision: value('--precision') as Precision | undefined, save: value('--save'),
  });
  console.log(metrics);
}
