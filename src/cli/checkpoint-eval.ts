// What `orthogonium certify` and `orthogonium attack` share once their
// options are parsed (eval-args.ts): loading a checkpoint with its input
// normalization, and the test split of a dataset as pixels in [0, 1].
import { Tensor, scope } from '../torch/index.js';
import { datasetTensors, openDataset } from '../data/index.js';
import { lastLayerType, lipschitzFromStd } from '../losses/index.js';
import { Linear } from '../nn/index.js';
import { FactoryModel } from '../models/index.js';
import { checkpointNormalization, loadCheckpoint } from '../train/checkpoint.js';
import { PixelSpaceModel } from '../train/pixel-model.js';
import type { EvalArgs } from './eval-args.js';

/** The test split as uint8 images [N, C, H, W] and int64 labels, from the dataset catalog's folders. */
function testSet(a: EvalArgs): { images: Tensor; labels: Tensor } {
  return datasetTensors(openDataset(a.dataset, a.dataDir).val());
}

export interface Evaluation {
  /** The checkpoint's model behind its input normalization: takes pixels in [0, 1]. */
  model: PixelSpaceModel;
  /** The network as stored (without the normalization). */
  network: FactoryModel;
  /** Test images as pixels in [0, 1] (float32, or float64 with `dtype`) and their labels, the first `limit` of them. */
  x: Tensor;
  y: Tensor;
  /** Lipschitz constant of the normalization, 1/min(std): the certificates' L in pixel units. */
  lipschitz: number;
}

/** Loads the checkpoint and the test split (disposing nothing of the caller's); free with disposeEvaluation. */
export function loadEvaluation(a: EvalArgs, dtype: 'float32' | 'float64' = 'float32'): Evaluation {
  const { model: network, metadata } = loadCheckpoint(a.checkpoint);
  try {
    if (lastLayerType(network) === 'unknown') {
      const last = [...network.modules()].filter((m) => m instanceof Linear).at(-1);
      throw new Error(`${a.checkpoint}: unknown head type: the model's last linear layer is ${last ? `a ${last.typeName}` : 'missing'}, ` +
        "neither an OrthoLinear ('global' certificates) nor a UnitNormLinear ('classwise'), so no certificate is valid for it");
    }
    const { mean, std } = checkpointNormalization(a.checkpoint, metadata);
    const { x, y } = scope(() => {
      let { images, labels } = testSet(a);
      if (a.limit !== undefined) {
        images = images.narrow(0, 0, Math.min(a.limit, images.shape[0]));
        labels = labels.narrow(0, 0, images.shape[0]);
      }
      if (images.shape[1] !== mean.length) {
        throw new Error(`dataset '${a.dataset}' has ${images.shape[1]} channels but the checkpoint was trained on ${mean.length}`);
      }
      return { x: images.to(dtype).div(255), y: labels.clone() };
    });
    const model = new PixelSpaceModel(network, mean, std);
    if (dtype !== 'float32') model.to(dtype);
    return { model, network, x, y, lipschitz: lipschitzFromStd(std) };
  } catch (error) {
    network.dispose();
    throw error;
  }
}

export function disposeEvaluation(e: Evaluation): void {
  e.model.dispose();
  e.x.dispose();
  e.y.dispose();
}
