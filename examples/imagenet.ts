// Orthogonium's ImageNet script (scripts/imagenet.py) with this library:
// AOCNetV1 (kernel 5, depthwise blocks of depth 3, embedding 2048, QR
// orthogonalization, prescaled residuals, UnitNormLinear head, no norm),
// LossXent(offset 1.5·√2, temperature 0.25), schedule-free AdamW (lr 5e-3),
// VRA at 36/255 with L = 1/min std = 2, bf16-mixed, data-parallel over every
// GPU, ModelCheckpoint on the training loss (best + last). Any folder laid out
// as ImageNet's works: <root>/train/<class>/<image>, <root>/val/<class>/<image>.
//
//   npm run imagenet -- --root /data/imagenet/ILSVRC/Data/CLS-LOC                 (the script's settings)
//   npm run imagenet -- --root ./photos --crop 64 --resize 72 --embedding-dim 256 --block-depth 1 --epochs 5 --precision 32
//
// One difference: the script passes pool=None, which Orthogonium's AOCNetV1
// cannot build (it calls pool(...)); we keep AOCNetV1's default pooling, an
// LPPool2d of norm 2 over the final map.
import { join } from 'node:path';
import { manualSeed } from '../src/torch/index.js';
import { AOCNetV1, summary } from '../src/models/index.js';
import { LossXent, lipschitzFromStd } from '../src/losses/index.js';
import { ImagenetDataModule } from '../src/data/index.js';
import { ClassificationModule, ModelCheckpoint, Trainer } from '../src/train/index.js';
import type { Accelerator, Precision, TrainerOptions } from '../src/train/index.js';
import { flagNumber, flagValue } from './args.js';

export interface ImagenetOptions {
  root: string;
  epochs?: number;
  batchSize?: number;
  numWorkers?: number;
  /** Training and validation crop (224) and the shorter edge before it (256). */
  crop?: number;
  resize?: number;
  embeddingDim?: number;
  blockDepth?: number;
  device?: Accelerator;
  devices?: TrainerOptions['devices'];
  precision?: Precision;
  limitTrainBatches?: number;
  limitValBatches?: number;
  /** Checkpoints and logs (default ./checkpoints/imagenet). */
  outDir?: string;
  quiet?: boolean;
}

export async function runImagenet(o: ImagenetOptions): Promise<{ metrics: Record<string, number>; bestCheckpoint: string; lastCheckpoint: string | null }> {
  const crop = o.crop ?? ImagenetDataModule.PREPROCESSING_PARAMS.cropSize;
  const data = new ImagenetDataModule({
    root: o.root, batchSize: o.batchSize, numWorkers: o.numWorkers ?? Math.min(8, ImagenetDataModule.NUM_WORKERS),
    preprocessing: { cropSize: crop, resizeSize: o.resize ?? Math.round((crop * 256) / 224) },
  });
  const classes = data.dataset('train').classes.length;
  const std = data.params.imgStd;
  manualSeed(0);
  const model = AOCNetV1({
    imgShape: [3, crop, crop],
    nClasses: classes,
    expandFactor: 2,
    blockDepth: o.blockDepth ?? 3,
    kernelSize: 5,
    embeddingDim: o.embeddingDim ?? 2048,
    groups: null, // depthwise-like: half the channels per group
    skip: { type: 'PrescaledAdditiveResidual', options: { initVal: 3.0 } },
    conv: { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same', paddingMode: 'zeros', orthoParams: 'qr' } },
    act: 'MaxMin',
    lin: { type: 'UnitNormLinear', options: { bias: false } },
    norm: null,
  });
  const module = new ClassificationModule({
    model,
    loss: new LossXent({ nClasses: classes, offset: 1.5 * Math.SQRT2, temperature: 0.25 }),
    lipschitz: lipschitzFromStd(std), // 1 / min std = 2
    eps: 36 / 255,
    lr: 5e-3,
    weightDecay: 0,
  });
  if (!o.quiet) console.log(summary(model, [1, 3, crop, crop]).text);
  const outDir = o.outDir ?? join('checkpoints', 'imagenet');
  const checkpoint = new ModelCheckpoint({ dirpath: outDir, monitor: 'loss', mode: 'min', saveTopK: 1, saveLast: true });
  const trainer = new Trainer({
    accelerator: o.device ?? 'auto',
    devices: o.devices ?? (o.device === 'cpu' ? 1 : -1), // every GPU, as the script's devices=-1
    precision: o.precision ?? 'bf16-mixed',
    maxEpochs: o.epochs ?? 300,
    limitTrainBatches: o.limitTrainBatches,
    limitValBatches: o.limitValBatches,
    callbacks: [checkpoint],
    defaultRootDir: outDir,
    enableProgressBar: !o.quiet,
    enableModelSummary: !o.quiet,
    output: o.quiet ? { write: () => true } : process.stdout,
  });
  const result = await trainer.fit(module, data);
  trainer.dispose();
  module.dispose();
  return { metrics: result.metrics, bestCheckpoint: checkpoint.bestModelPath, lastCheckpoint: checkpoint.lastModelPath };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const value = flagValue;
  const number = flagNumber;
  const root = value('--root');
  if (!root) {
    console.error('imagenet: --root <folder with train/<class>/… and val/<class>/…> is required');
    process.exit(2);
  }
  const { metrics, bestCheckpoint, lastCheckpoint } = await runImagenet({
    root, epochs: number('--epochs'), batchSize: number('--batch-size'), numWorkers: number('--num-workers'),
    crop: number('--crop'), resize: number('--resize'), embeddingDim: number('--embedding-dim'), blockDepth: number('--block-depth'),
    device: value('--device') as Accelerator | undefined, precision: value('--precision') as Precision | undefined,
    limitTrainBatches: number('--limit-train-batches'), limitValBatches: number('--limit-val-batches'), outDir: value('--out'),
  });
  console.log(metrics);
  console.log(`best checkpoint: ${bestCheckpoint}\nlast checkpoint: ${lastCheckpoint}`);
}
