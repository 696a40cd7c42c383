// RandAugment (Cubuk et al., 2019) with torchvision's op list, magnitude
// bins and sampling: numOps times, pick one of 14 ops uniformly, take its
// magnitude from bin `magnitude` of `numMagnitudeBins`, flip the sign of signed
// ops with probability ½. On uint8 CHW images with 1 or 3 channels; the
// geometric ops sample nearest-neighbour (torchvision's default) and fill
// uncovered pixels with `fill` (0 by default).
import type { Rng } from './rng.js';
import type { Image, Transform, TransformSpec } from './transforms.js';
import {
  adjustBrightness, adjustContrast, adjustSaturation, adjustSharpness, autocontrast, equalize, linspace32,
  posterize, rotate, shearX, shearY, solarize, translate,
} from './augment-ops.js';

export const RAND_AUGMENT_OPS = [
  'Identity', 'ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate', 'Brightness', 'Color', 'Contrast',
  'Sharpness', 'Posterize', 'Solarize', 'AutoContrast', 'Equalize',
] as const;
export type RandAugmentOp = (typeof RAND_AUGMENT_OPS)[number];

export interface RandAugmentOptions {
  /** Ops applied to each image (default 2). */
  numOps?: number;
  /** Bin index of the magnitude, in [0, numMagnitudeBins − 1] (default 9). */
  magnitude?: number;
  /** Number of magnitude bins (default 31). */
  numMagnitudeBins?: number;
  /** Value (or per-channel values) of pixels uncovered by the geometric ops; default 0. */
  fill?: number | number[] | null;
}

/** The magnitude of `op` at bin `bin` (unsigned) and whether torchvision randomizes its sign. */
export function randAugmentMagnitude(op: RandAugmentOp, bin: number, numBins: number, height: number, width: number): { magnitude: number; signed: boolean } {
  const at = (a: number, b: number) => linspace32(a, b, numBins)[bin];
  switch (op) {
    case 'Identity': case 'AutoContrast': case 'Equalize': return { magnitude: 0, signed: false };
    case 'ShearX': case 'ShearY': return { magnitude: at(0, 0.3), signed: true };
    case 'TranslateX': return { magnitude: at(0, (150 / 331) * width), signed: true };
    case 'TranslateY': return { magnitude: at(0, (150 / 331) * height), signed: true };
    case 'Rotate': return { magnitude: at(0, 30), signed: true };
    case 'Brightness': case 'Color': case 'Contrast': case 'Sharpness': return { magnitude: at(0, 0.9), signed: true };
    case 'Posterize': {
      // 8 − round(bin / ((numBins − 1) / 4)) with a float32 quotient, rounded half to even
      const q = Math.fround(bin / Math.fround((numBins - 1) / 4));
      let r = Math.round(q);
      if (r - q === 0.5 && (r & 1) !== 0) r -= 1;
      return { magnitude: 8 - r, signed: false };
    }
    case 'Solarize': return { magnitude: at(255, 0), signed: false };
  }
}

/** Applies one op with a signed magnitude (as torchvision's _apply_op). */
export function applyRandAugmentOp(img: Image, op: RandAugmentOp, magnitude: number, fill: number[] | null = null): Image {
  switch (op) {
    case 'Identity': return img;
    case 'ShearX': return shearX(img, magnitude, fill);
    case 'ShearY': return shearY(img, magnitude, fill);
    case 'TranslateX': return translate(img, magnitude, 0, fill);
    case 'TranslateY': return translate(img, 0, magnitude, fill);
    case 'Rotate': return rotate(img, magnitude, fill);
    case 'Brightness': return adjustBrightness(img, 1 + magnitude);
    case 'Color': return adjustSaturation(img, 1 + magnitude);
    case 'Contrast': return adjustContrast(img, 1 + magnitude);
    case 'Sharpness': return adjustSharpness(img, 1 + magnitude);
    case 'Posterize': return posterize(img, Math.trunc(magnitude));
    case 'Solarize': return solarize(img, magnitude);
    case 'AutoContrast': return autocontrast(img);
    case 'Equalize': return equalize(img);
    default: throw new RangeError(`RandAugment: unknown op ${JSON.stringify(op)}; expected one of ${RAND_AUGMENT_OPS.join(', ')}`);
  }
}

export class RandAugment implements Transform {
  readonly numOps: number;
  readonly magnitude: number;
  readonly numMagnitudeBins: number;
  readonly fill: number[] | null;

  constructor(opts: RandAugmentOptions = {}) {
    this.numOps = opts.numOps ?? 2;
    this.magnitude = opts.magnitude ?? 9;
    this.numMagnitudeBins = opts.numMagnitudeBins ?? 31;
    if (!Number.isInteger(this.numOps) || this.numOps < 0) throw new RangeError(`RandAugment: numOps must be a non-negative integer, got ${opts.numOps}`);
    if (!Number.isInteger(this.numMagnitudeBins) || this.numMagnitudeBins < 2) throw new RangeError(`RandAugment: numMagnitudeBins must be an integer ≥ 2, got ${opts.numMagnitudeBins}`);
    if (!Number.isInteger(this.magnitude) || this.magnitude < 0 || this.magnitude >= this.numMagnitudeBins) {
      throw new RangeError(`RandAugment: magnitude must be an integer bin in [0, ${this.numMagnitudeBins - 1}], got ${opts.magnitude}`);
    }
    const fill = opts.fill ?? null;
    this.fill = fill === null ? null : typeof fill === 'number' ? [fill] : [...fill];
    if (this.fill !== null && (this.fill.length === 0 || !this.fill.every((v) => Number.isFinite(v)))) {
      throw new RangeError(`RandAugment: fill must be a finite number or a non-empty list of them, got ${JSON.stringify(opts.fill)}`);
    }
  }

  apply(img: Image, rng: Rng): Image {
    if (!(img.data instanceof Uint8Array)) throw new TypeError('RandAugment: expects a uint8 image; put it before ToTensor');
    if (img.channels !== 1 && img.channels !== 3) throw new RangeError(`RandAugment: expects a 1- or 3-channel image, got ${img.channels} channels`);
    if (this.fill !== null && this.fill.length !== 1 && this.fill.length !== img.channels) {
      throw new RangeError(`RandAugment: ${this.fill.length} fill values for a ${img.channels}-channel image`);
    }
    let out = img;
    for (let k = 0; k < this.numOps; k++) {
      const op = RAND_AUGMENT_OPS[rng.int(0, RAND_AUGMENT_OPS.length)];
      const { magnitude, signed } = randAugmentMagnitude(op, this.magnitude, this.numMagnitudeBins, img.height, img.width);
      const m = signed && rng.int(0, 2) === 1 ? -magnitude : magnitude;
      out = applyRandAugmentOp(out, op, m, this.fill);
    }
    return out;
  }

  spec(): TransformSpec {
    return { type: 'RandAugment', numOps: this.numOps, magnitude: this.magnitude, numMagnitudeBins: this.numMagnitudeBins, fill: this.fill };
  }
}
