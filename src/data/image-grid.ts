// torchvision.utils.make_grid / save_image for engine tensors: lay a batch of
// images out in a padded grid (optionally min-max normalized), and write a
// grid or an image as PNG or JPEG. Same rules as torchvision: one-channel
// images become three-channel, a single image comes back without padding, and
// saved pixels are floor(clamp(x·255 + 0.5, 0, 255)).
import { extname } from 'node:path';
import { Tensor, cat, full, isFloatingDType, noGrad, scope, stack } from '../torch/index.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { encodePng } from './png.js';
import type { DecodedImage } from './png.js';
import { encodeJpeg } from './jpeg.js';

export interface MakeGridOptions {
  /** Images per row (default 8); the grid has ceil(B / nrow) rows. */
  nrow?: number;
  /** Pixels between images and around the grid (default 2). */
  padding?: number;
  /** Shift the values to [0, 1] by [min, max] (default false). */
  normalize?: boolean;
  /** The [min, max] that normalize maps to [0, 1] (values outside are clamped); default: the data's own min and max. */
  valueRange?: [number, number];
  /** Normalize each image by its own min and max instead of the batch's (default false). */
  scaleEach?: boolean;
  /** Value of the padding pixels, written after normalization (default 0). */
  padValue?: number;
}

export type ImageFormat = 'png' | 'jpeg';

export interface SaveImageOptions extends MakeGridOptions {
  /** Default: from the file extension (.png, .jpg, .jpeg). */
  format?: ImageFormat;
  /** JPEG quality 1–100 (default 75, Pillow's). */
  quality?: number;
}

function checkInteger(fn: string, name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${fn}: ${name} must be an integer ≥ ${min}, got ${value}`);
}

function checkOptions(fn: string, o: MakeGridOptions): void {
  checkInteger(fn, 'nrow', o.nrow ?? 8, 1);
  checkInteger(fn, 'padding', o.padding ?? 2, 0);
  if (!Number.isFinite(o.padValue ?? 0)) throw new RangeError(`${fn}: padValue must be a finite number, got ${o.padValue}`);
  const range = o.valueRange;
  if (range !== undefined && !(Array.isArray(range) && range.length === 2 && range.every(Number.isFinite) && range[0] <= range[1])) {
    throw new RangeError(`${fn}: valueRange must be [min, max] with finite min ≤ max, got ${JSON.stringify(range)}`);
  }
}

/** The input as a [B, C, H, W] batch with one-channel images repeated to three channels (torchvision's rule). */
function asBatch(fn: string, input: Tensor | Tensor[]): Tensor {
  let t: Tensor;
  if (Array.isArray(input)) {
    if (input.length === 0) throw new RangeError(`${fn}: an empty list of images`);
    const shapes = new Set(input.map((x) => x.shape.join('×')));
    if (shapes.size > 1) throw new RangeError(`${fn}: the images of a list must share one shape, got ${[...shapes].join(', ')}`);
    t = stack(input, 0);
  } else t = input;
  if (!(t instanceof Tensor)) throw new TypeError(`${fn}: expected a Tensor or a list of Tensors`);
  if (t.dtype === 'bool' || t.dtype.startsWith('complex')) throw new TypeError(`${fn}: images must be real numbers, got dtype ${t.dtype}`);
  if (t.ndim === 2) t = t.unsqueeze(0);
  if (t.ndim === 3) {
    if (t.shape[0] === 1) t = cat([t, t, t], 0);
    t = t.unsqueeze(0);
  }
  if (t.ndim !== 4) throw new RangeError(`${fn}: expected [H, W], [C, H, W] or [B, C, H, W] images, got shape [${t.shape.join(', ')}]`);
  if (t.numel() === 0) throw new RangeError(`${fn}: no pixels to show, got shape [${t.shape.join(', ')}]`);
  if (t.shape[1] === 1) t = cat([t, t, t], 1);
  return t;
}

/** (x − low) / max(high − low, 1e-5) after clamping to [low, high], low and high taken as float64 scalars as torchvision does. */
function minMaxScale(t: Tensor, range: [number, number] | undefined): Tensor {
  const low = range ? range[0] : t.min().item();
  const high = range ? range[1] : t.max().item();
  return t.clamp(low, high).sub(low).div(Math.max(high - low, 1e-5));
}

/**
 * torchvision.utils.make_grid: images [B, C, H, W] (or a list of [C, H, W],
 * or one [C, H, W] / [H, W] image) → one [C', H', W'] tensor of the same
 * dtype, with C' = 3 for one-channel input. The grid is nrow images wide,
 * each tile `padding` pixels from its neighbours and from the border.
 * A single image is returned as it is (normalized if asked), without padding.
 * Always a new tensor, never a view of the input; no gradient flows through it.
 */
export function makeGrid(images: Tensor | Tensor[], options: MakeGridOptions = {}): Tensor {
  const fn = 'makeGrid';
  checkOptions(fn, options);
  return noGrad(() => scope(() => {
    let batch = asBatch(fn, images);
    if (options.normalize) {
      if (!isFloatingDType(batch.dtype)) throw new TypeError(`${fn}: normalize needs floating-point images, got dtype ${batch.dtype}`);
      batch = options.scaleEach
        ? stack(batch.unbind(0).map((image) => minMaxScale(image, options.valueRange)), 0)
        : minMaxScale(batch, options.valueRange);
    }
    const [count, channels, height, width] = batch.shape;
    if (count === 1) return batch.select(0, 0).clone();
    const nrow = options.nrow ?? 8;
    const padding = options.padding ?? 2;
    const columns = Math.min(nrow, count);
    const rows = Math.ceil(count / columns);
    const cellH = height + padding;
    const cellW = width + padding;
    const grid = full([channels, rows * cellH + padding, columns * cellW + padding], options.padValue ?? 0, { dtype: batch.dtype, device: batch.device });
    for (let k = 0; k < count; k++) {
      const row = Math.floor(k / columns);
      const column = k % columns;
      grid.narrow(1, row * cellH + padding, height).narrow(2, column * cellW + padding, width).copy_(batch.select(0, k));
    }
    return grid;
  }));
}

/** A floating [C, H, W] image in [0, 1] as 8-bit pixels: floor(clamp(x·255 + 0.5, 0, 255)), as save_image. */
export function imageToUint8(image: Tensor, fn = 'imageToUint8'): DecodedImage {
  if (!(image instanceof Tensor)) throw new TypeError(`${fn}: expected a Tensor`);
  if (image.ndim !== 3) throw new RangeError(`${fn}: expected a [C, H, W] image, got shape [${image.shape.join(', ')}]`);
  if (!isFloatingDType(image.dtype)) {
    throw new TypeError(`${fn}: expected floating-point values in [0, 1], got dtype ${image.dtype} (for uint8 pixels use x.float().div(255))`);
  }
  return noGrad(() => scope(() => {
    if (image.isnan().any().item()) throw new RangeError(`${fn}: the image holds NaN values`);
    const pixels = image.mul(255).add(0.5).clamp(0, 255).to({ dtype: 'uint8', device: 'cpu' }).contiguous();
    const [channels, height, width] = image.shape;
    return { data: Uint8Array.from(pixels.dataSync() as Uint8Array), channels, height, width };
  }));
}

function formatOf(path: string, format: ImageFormat | undefined): ImageFormat {
  if (format !== undefined) {
    if (format !== 'png' && format !== 'jpeg') throw new TypeError(`saveImage: format must be 'png' or 'jpeg', got ${JSON.stringify(format)}`);
    return format;
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  throw new TypeError(`saveImage: cannot tell the image format of ${JSON.stringify(path)} (extension '${ext}'); use .png, .jpg or .jpeg, or pass format`);
}

/**
 * torchvision.utils.save_image: makeGrid(images, options), converted to 8-bit
 * pixels and written as PNG (1–4 channels) or JPEG (3 channels) by the file
 * extension or `format`. The file is written to a temporary name and renamed,
 * so a failed or interrupted save never leaves a half-written image.
 */
export function saveImage(images: Tensor | Tensor[], path: string, options: SaveImageOptions = {}): void {
  const format = formatOf(path, options.format);
  const quality = options.quality ?? 75;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new RangeError(`saveImage: quality must be an integer from 1 to 100, got ${options.quality}`);
  const grid = makeGrid(images, options);
  let pixels: DecodedImage;
  try {
    pixels = imageToUint8(grid, 'saveImage');
  } finally {
    grid.dispose();
  }
  const bytes = format === 'png' ? encodePng(pixels, 'saveImage') : encodeJpeg(pixels, quality, 'saveImage');
  try {
    writeFileAtomic(path, bytes);
  } catch (error) {
    throw new Error(`saveImage: cannot write ${path}: ${(error as Error).message}`);
  }
}
