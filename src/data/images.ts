// In-memory image datasets kept as plain typed arrays (uint8 CHW images,
// int32 labels), so that they can be shared with loader worker threads
// without copies and turned into engine tensors when wanted.
import { Tensor, fromTypedArray } from '../torch/index.js';
import { Image, makeImage } from './transforms.js';

export interface ArrayImageDataset {
  /** uint8 pixels, [N, C, H, W] row-major. */
  images: Uint8Array;
  /** one label per image. */
  labels: Int32Array;
  channels: number;
  height: number;
  width: number;
  classes: string[];
  readonly length: number;
}

export function arrayImageDataset(
  images: Uint8Array, labels: Int32Array, chw: [number, number, number], classes: string[],
): ArrayImageDataset {
  const [channels, height, width] = chw;
  const per = channels * height * width;
  if (images.length !== labels.length * per) {
    throw new RangeError(`arrayImageDataset: ${images.length} pixel bytes for ${labels.length} images of [${chw.join(', ')}] (expected ${labels.length * per})`);
  }
  return { images, labels, channels, height, width, classes, length: labels.length };
}

/** The dataset as engine tensors: uint8 images [N, C, H, W] and int64 labels [N]. */
export function datasetTensors(ds: ArrayImageDataset): { images: Tensor; labels: Tensor } {
  return {
    images: fromTypedArray(ds.images, [ds.length, ds.channels, ds.height, ds.width]),
    labels: fromTypedArray(ds.labels, [ds.length], { dtype: 'int64' }),
  };
}

/** An engine tensor [C, H, W] (uint8 or float32) as an Image (its data is copied out). */
export function imageFromTensor(t: Tensor): Image {
  if (t.shape.length !== 3) throw new RangeError(`imageFromTensor: expected [C, H, W], got [${t.shape.join(', ')}]`);
  let data: Uint8Array | Float32Array;
  if (t.dtype === 'uint8') data = t.dataSync() as Uint8Array;
  else {
    const f = t.to('float32');
    try { data = f.dataSync() as Float32Array; } finally { if (f !== t) f.dispose(); }
  }
  return makeImage(data, t.shape[0], t.shape[1], t.shape[2]);
}

/** An Image as an engine tensor [C, H, W] (uint8 or float32). */
export function imageToTensor(img: Image): Tensor {
  return fromTypedArray(img.data, [img.channels, img.height, img.width]);
}

