// The image operations of RandAugment on uint8 CHW images, following
// torchvision's tensor functional ops (v0.14, the torch 1.13 release): float32
// arithmetic where torchvision computes in float32, truncation where it casts
// float back to uint8, nearest-neighbour sampling for the geometric ops.
// No engine import: this runs in loader workers.
import type { Image } from './transforms.js';

const f = Math.fround;

function u8(img: Image, what: string): Uint8Array {
  if (!(img.data instanceof Uint8Array)) throw new TypeError(`${what}: expects a uint8 image (put it before ToTensor)`);
  return img.data;
}

function like(img: Image, data: Uint8Array): Image {
  return { data, channels: img.channels, height: img.height, width: img.width };
}

/** torch.linspace in float32: start + i·step for the first half, end − (n−1−i)·step for the rest. */
export function linspace32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) { out[0] = start; return out; }
  const step = f((f(end) - f(start)) / (steps - 1));
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? f(start) + f(step * i) : f(end) - f(step * (steps - i - 1));
  return out;
}

/** Python's degrees/radians helpers. */
const radians = (d: number) => (d * Math.PI) / 180;

/**
 * torchvision's _get_inverse_affine_matrix: the matrix that maps output
 * coordinates (pixel centres, origin at the image centre) to input ones.
 */
export function inverseAffineMatrix(center: [number, number], angle: number, translate: [number, number], scale: number, shear: [number, number]): number[] {
  const rot = radians(angle);
  const sx = radians(shear[0]);
  const sy = radians(shear[1]);
  const [cx, cy] = center;
  const [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0].map((v) => v / scale);
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
  m[2] += cx;
  m[5] += cy;
  return m;
}

/** Python/torch round half to even. */
function nearbyint(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/**
 * Nearest-neighbour warp by an inverse affine matrix, like torchvision's
 * affine grid + grid_sample(align_corners=False) in float32; pixels that map
 * outside the image get `fill` (per channel, or one value; 0 when null).
 */
export function affineNearest(img: Image, matrix: number[], fill: number[] | null): Image {
  const data = u8(img, 'affine');
  const { channels, height: h, width: w } = img;
  const out = new Uint8Array(data.length);
  const t = matrix.map(f);
  const hw = f(0.5 * w);
  const hh = f(0.5 * h);
  const r00 = f(t[0] / hw), r10 = f(t[1] / hw), r20 = f(t[2] / hw);
  const r01 = f(t[3] / hh), r11 = f(t[4] / hh), r21 = f(t[5] / hh);
  const fills = new Uint8Array(channels);
  for (let c = 0; c < channels; c++) {
    const v = fill === null ? 0 : fill[fill.length === 1 ? 0 : c];
    fills[c] = Math.min(255, Math.max(0, nearbyint(v)));
  }
  const plane = h * w;
  for (let i = 0; i < h; i++) {
    const y = -h * 0.5 + 0.5 + i;
    for (let j = 0; j < w; j++) {
      const x = -w * 0.5 + 0.5 + j;
      const gx = f(f(f(x * r00) + f(y * r10)) + r20);
      const gy = f(f(f(x * r01) + f(y * r11)) + r21);
      const ix = nearbyint(f(f(f(gx + 1) * w) - 1) / 2);
      const iy = nearbyint(f(f(f(gy + 1) * h) - 1) / 2);
      const inside = ix >= 0 && ix < w && iy >= 0 && iy < h;
      for (let c = 0; c < channels; c++) out[c * plane + i * w + j] = inside ? data[c * plane + iy * w + ix] : fills[c];
    }
  }
  return like(img, out);
}

export function shearX(img: Image, magnitude: number, fill: number[] | null): Image {
  const deg = (Math.atan(magnitude) * 180) / Math.PI;
  return affineNearest(img, inverseAffineMatrix([-img.width * 0.5, -img.height * 0.5], 0, [0, 0], 1, [deg, 0]), fill);
}

export function shearY(img: Image, magnitude: number, fill: number[] | null): Image {
  const deg = (Math.atan(magnitude) * 180) / Math.PI;
  return affineNearest(img, inverseAffineMatrix([-img.width * 0.5, -img.height * 0.5], 0, [0, 0], 1, [0, deg]), fill);
}

/** Shifts by whole pixels (torchvision truncates the magnitude toward zero): positive dx moves the content right. */
export function translate(img: Image, dx: number, dy: number, fill: number[] | null): Image {
  return affineNearest(img, inverseAffineMatrix([0, 0], 0, [Math.trunc(dx), Math.trunc(dy)], 1, [0, 0]), fill);
}

/** Rotates counter-clockwise by `angle` degrees about the centre, keeping the size. */
export function rotate(img: Image, angle: number, fill: number[] | null): Image {
  return affineNearest(img, inverseAffineMatrix([0, 0], -angle, [0, 0], 1, [0, 0]), fill);
}

/** ratio·a + (1 − ratio)·b in float32, clamped to [0, 255] and truncated (torchvision's _blend). */
function blendInto(out: Uint8Array, k: number, a: number, b: number, r: number, q: number): void {
  let v = f(f(r * a) + f(q * b));
  if (v < 0) v = 0; else if (v > 255) v = 255;
  out[k] = v | 0;
}

/** uint8 ITU-R 601 grey of an RGB image, truncated like torchvision's rgb_to_grayscale. */
export function grayscale(img: Image): Uint8Array {
  const data = u8(img, 'grayscale');
  const plane = img.height * img.width;
  if (img.channels === 1) return data.slice();
  const out = new Uint8Array(plane);
  const wr = f(0.2989), wg = f(0.587), wb = f(0.114);
  for (let p = 0; p < plane; p++) out[p] = f(f(f(wr * data[p]) + f(wg * data[plane + p])) + f(wb * data[2 * plane + p])) | 0;
  return out;
}

export function adjustBrightness(img: Image, factor: number): Image {
  const data = u8(img, 'adjustBrightness');
  const out = new Uint8Array(data.length);
  const r = f(factor), q = f(1 - factor);
  for (let k = 0; k < data.length; k++) blendInto(out, k, data[k], 0, r, q);
  return like(img, out);
}

/** Blends with the grey image; a 1-channel image is returned unchanged (as torchvision/PIL do). */
export function adjustSaturation(img: Image, factor: number): Image {
  const data = u8(img, 'adjustSaturation');
  if (img.channels === 1) return img;
  const grey = grayscale(img);
  const plane = img.height * img.width;
  const out = new Uint8Array(data.length);
  const r = f(factor), q = f(1 - factor);
  for (let k = 0; k < data.length; k++) blendInto(out, k, data[k], grey[k % plane], r, q);
  return like(img, out);
}

/** Blends with the mean of the grey image (the image itself when it has one channel). */
export function adjustContrast(img: Image, factor: number): Image {
  const data = u8(img, 'adjustContrast');
  const grey = img.channels === 3 ? grayscale(img) : data;
  let sum = 0;
  for (let k = 0; k < grey.length; k++) sum += grey[k];
  const mean = f(sum / grey.length);
  const out = new Uint8Array(data.length);
  const r = f(factor), q = f(1 - factor);
  for (let k = 0; k < data.length; k++) blendInto(out, k, data[k], mean, r, q);
  return like(img, out);
}

/**
 * Blends with a smoothed image (3×3 kernel 1,1,1 / 1,5,1 / 1,1,1 over 13,
 * rounded) whose border pixels are the original ones; images 2 pixels wide or
 * high are returned unchanged.
 */
export function adjustSharpness(img: Image, factor: number): Image {
  const data = u8(img, 'adjustSharpness');
  const { channels, height: h, width: w } = img;
  if (h <= 2 || w <= 2) return img;
  const blurred = data.slice();
  const k1 = f(1 / 13), k5 = f(5 / 13);
  for (let c = 0; c < channels; c++) {
    const p = c * h * w;
    for (let i = 1; i < h - 1; i++) {
      for (let j = 1; j < w - 1; j++) {
        let s = 0;
        for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) s = f(s + f(data[p + (i + di) * w + j + dj] * (di === 0 && dj === 0 ? k5 : k1)));
        blurred[p + i * w + j] = nearbyint(s);
      }
    }
  }
  const out = new Uint8Array(data.length);
  const r = f(factor), q = f(1 - factor);
  for (let k = 0; k < data.length; k++) blendInto(out, k, data[k], blurred[k], r, q);
  return like(img, out);
}

/** Keeps the `bits` high bits of every value. */
export function posterize(img: Image, bits: number): Image {
  const data = u8(img, 'posterize');
  if (!Number.isInteger(bits) || bits < 0 || bits > 8) throw new RangeError(`posterize: bits must be an integer in [0, 8], got ${bits}`);
  const mask = (0xff << (8 - bits)) & 0xff;
  const out = new Uint8Array(data.length);
  for (let k = 0; k < data.length; k++) out[k] = data[k] & mask;
  return like(img, out);
}

/** Inverts (255 − v) every value ≥ threshold. */
export function solarize(img: Image, threshold: number): Image {
  const data = u8(img, 'solarize');
  const out = new Uint8Array(data.length);
  for (let k = 0; k < data.length; k++) out[k] = data[k] >= threshold ? 255 - data[k] : data[k];
  return like(img, out);
}

/** Stretches each channel to [0, 255] (a constant channel is left as it is). */
export function autocontrast(img: Image): Image {
  const data = u8(img, 'autocontrast');
  const plane = img.height * img.width;
  const out = new Uint8Array(data.length);
  for (let c = 0; c < img.channels; c++) {
    let lo = 255, hi = 0;
    for (let k = c * plane; k < (c + 1) * plane; k++) { if (data[k] < lo) lo = data[k]; if (data[k] > hi) hi = data[k]; }
    const constant = hi === lo;
    const scale = constant ? 1 : f(255 / (hi - lo));
    const min = constant ? 0 : lo;
    for (let k = c * plane; k < (c + 1) * plane; k++) {
      let v = f((data[k] - min) * scale);
      if (v > 255) v = 255;
      out[k] = v | 0;
    }
  }
  return like(img, out);
}

/** Histogram equalization per channel, with torchvision's integer lookup table. */
export function equalize(img: Image): Image {
  const data = u8(img, 'equalize');
  const plane = img.height * img.width;
  const out = new Uint8Array(data.length);
  const hist = new Float64Array(256);
  for (let c = 0; c < img.channels; c++) {
    const start = c * plane;
    hist.fill(0);
    for (let k = start; k < start + plane; k++) hist[data[k]]++;
    // step: the pixel count without the last non-empty bin, over 255 (floored)
    let last = 255;
    while (hist[last] === 0) last--;
    let total = 0;
    for (let v = 0; v < last; v++) total += hist[v];
    const step = Math.floor(total / 255);
    if (step === 0) { out.set(data.subarray(start, start + plane), start); continue; }
    const lut = new Uint8Array(256);
    let cum = 0;
    for (let v = 0; v < 256; v++) {
      lut[v] = Math.min(255, Math.floor((cum + Math.floor(step / 2)) / step)); // the table shifted by one: cumsum up to v − 1
      cum += hist[v];
    }
    for (let k = start; k < start + plane; k++) out[k] = lut[data[k]];
  }
  return like(img, out);
}
