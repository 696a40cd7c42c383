// `orthogonium eval`: accuracy, loss and VRA of a checkpoint on a dataset's
// validation split. The dataset and the loss default to those recorded in the
// checkpoint (the loss of its training setting; cross-entropy otherwise).
import { DATASET_NAMES, openDataset } from '../data/index.js';
import { CrossEntropyLoss, lipschitzFromStd } from '../losses/index.js';
import { checkpointNormalization, loadCheckpoint } from '../train/checkpoint.js';
import { getSetting } from '../train/settings.js';
import { evaluateSplit, formatEvaluation, normalizedSplit } from '../train/evaluation.js';
import type { LossModule } from '../train/classification-module.js';
import { FlagSpec, UsageError, parseFlags, withUsage } from './args.js';

export const EVAL_USAGE = `orthogonium eval --checkpoint FILE [--dataset NAME] [--data-dir DIR] [--image-size N] [--eps 36/255,72/255,108/255]
        [--limit N] [--batch-size N] [--device cpu|cuda] [--json]`;

const FLAGS: Record<string, FlagSpec> = {
  '--checkpoint': { key: 'checkpoint', kind: 'string' },
  '--dataset': { key: 'dataset', kind: 'string' },
  '--data-dir': { key: 'dataDir', kind: 'string' },
  '--image-size': { key: 'imageSize', kind: 'positive-int' },
  '--eps': { key: 'eps', kind: 'eps' },
  '--limit': { key: 'limit', kind: 'positive-int' },
  '--batch-size': { key: 'batchSize', kind: 'positive-int' },
  '--device': { key: 'device', kind: 'string', choices: ['cpu', 'cuda'] },
  '--json': { key: 'json', kind: 'bool' },
};

export function evalCommand(args: string[], usage: string): Promise<number> {
  return withUsage('eval', usage, () => {
    const a = parseFlags(args, FLAGS);
    if (typeof a.checkpoint !== 'string') throw new UsageError('--checkpoint is required');
    const { model, metadata } = loadCheckpoint(a.checkpoint);
    try {
      const dataset = (a.dataset as string | undefined) ?? metadata.dataset;
      if (typeof dataset !== 'string') throw new UsageError(`the checkpoint does not record its dataset; pass --dataset (${DATASET_NAMES.join(', ')})`);
      const { mean, std } = checkpointNormalization(a.checkpoint, metadata);
      // a folder dataset is read at the size the model was trained on (the run configuration in the checkpoint)
      const runConfig = metadata.run_config as { dataset?: unknown; imageSize?: unknown } | undefined;
      const imageSize = (a.imageSize as number | undefined) ?? (runConfig?.dataset === dataset && typeof runConfig?.imageSize === 'number' ? runConfig.imageSize : null);
      const opened = openDataset(dataset, a.dataDir as string | undefined, { imageSize });
      const setting = typeof metadata.setting === 'string' ? getSetting(metadata.setting) : null;
      const classes = Array.isArray(metadata.classes) ? metadata.classes.length : opened.val().classes.length;
      const loss: LossModule = setting ? setting.loss(classes, std) : new CrossEntropyLoss();
      const device = (a.device as string | undefined) ?? 'cpu';
      if (device !== 'cpu') model.to(device);
      const split = normalizedSplit(opened.val(), mean, std, a.limit as number | undefined);
      try {
        const result = evaluateSplit(model, split, {
          eps: (a.eps as number[] | undefined) ?? [36 / 255, 72 / 255, 108 / 255], lipschitz: lipschitzFromStd(std), loss,
          batchSize: (a.batchSize as number | undefined) ?? 1000, device,
        });
        if (a.json) console.log(JSON.stringify({ checkpoint: a.checkpoint, dataset, lossName: setting ? setting.lossSpec(classes, std).type : 'CrossEntropyLoss', ...result, radii: undefined }, null, 2));
        else for (const line of formatEvaluation(result, `${dataset} validation split`)) console.log(line);
      } finally {
        split.x.dispose();
        split.y.dispose();
      }
      return 0;
    } finally {
      model.dispose();
    }
  });
}
