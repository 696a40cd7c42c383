// Initializers (torch.nn.init): fill a tensor in place, without recording
// gradients, and return it.
import { Tensor, linalg, noGrad, randn, scope } from '../torch/index.js';

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';

/** The gain PyTorch recommends for a nonlinearity (calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv2d': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    default: throw new TypeError(`calculateGain: unknown nonlinearity '${String(nonlinearity)}'`);
  }
}

/** fan_in and fan_out of a weight [out, in, *kernel] (or [out, in]). */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  const shape = t.shape;
  if (shape.length < 2) throw new RangeError(`fan in/out need a tensor with at least 2 dims, got shape [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export const uniform_ = (t: Tensor, a = 0, b = 1): Tensor => noGrad(() => t.uniform_(a, b));
export const normal_ = (t: Tensor, mean = 0, std = 1): Tensor => noGrad(() => t.normal_(mean, std));
export const constant_ = (t: Tensor, value: number): Tensor => noGrad(() => t.fill_(value));
export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

export interface KaimingOptions { a?: number; mode?: 'fanIn' | 'fanOut'; nonlinearity?: Nonlinearity }

function kaimingStd(t: Tensor, options: KaimingOptions): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const fan = (options.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut;
  return calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0) / Math.sqrt(fan);
}

export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, options);
  return uniform_(t, -bound, bound);
}

export const kaimingNormal_ = (t: Tensor, options: KaimingOptions = {}): Tensor => normal_(t, 0, kaimingStd(t, options));

export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/**
 * A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one,
 * sign-corrected so the distribution is uniform (Haar); dims after the
 * first are flattened, as in torch.nn.init.orthogonal_.
 */
export function orthogonal_(t: Tensor, gain = 1): Tensor {
  const shape = t.shape;
  if (shape.length < 2) throw new RangeError('orthogonal_: only tensors with 2 or more dimensions are supported');
  const rows = shape[0];
  const cols = t.numel() / rows;
  noGrad(() => scope(() => {
    const gaussian = randn([rows, cols], { dtype: t.dtype === 'float64' ? 'float64' : 'float32' });
    const tall = rows < cols ? gaussian.t() : gaussian;
    const { Q, R } = linalg.qr(tall);
    let q = Q.mul(R.diagonal().sign().unsqueeze(0));
    if (rows < cols) q = q.t();
    t.copy_(q.reshape(shape).mul(gain));
  }));
  return t;
}

/**
 * Normal(mean, std²) truncated to [a, b] (absolute bounds, as in
 * torch.nn.init.trunc_normal_): inverse-CDF sampling of a uniform draw
 * between the bounds' CDF values, then clamped to [a, b].
 */
export function truncNormal_(t: Tensor, options: { mean?: number; std?: number; a?: number; b?: number } = {}): Tensor {
  const { mean = 0, std = 1, a = -2, b = 2 } = options;
  if (!(std > 0)) throw new RangeError(`truncNormal_: std must be > 0, got ${std}`);
  if (!(a < b)) throw new RangeError(`truncNormal_: the bounds must satisfy a < b, got a = ${a}, b = ${b}`);
  const cdf = (x: number) => (1 + erf(x / Math.SQRT2)) / 2;
  const l = cdf((a - mean) / std);
  const u = cdf((b - mean) / std);
  return noGrad(() => t.uniform_(2 * l - 1, 2 * u - 1).erfinv_().mul_(std * Math.SQRT2).add_(mean).clamp_(a, b));
}

/** erf(x) to double precision (Abramowitz–Stegun 7.1.26 is too coarse): series for |x| < 3, continued fraction beyond. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= -ax * ax / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc by Lentz's continued fraction.
  let f = ax;
  for (let n = 60; n >= 1; n--) f = ax + (n / 2) / f;
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  return Math.sign(x) * (1 - erfc);
}

/**
 * The identity for convolutions: a 3-, 4- or 5-d weight [out, in, *kernel]
 * with a 1 at the kernel's centre linking output channel i to input channel
 * i of each of `groups` groups, zeros elsewhere (torch.nn.init.dirac_).
 */
export function dirac_(t: Tensor, groups = 1): Tensor {
  const shape = t.shape;
  if (shape.length < 3 || shape.length > 5) throw new RangeError(`dirac_: only 3, 4 or 5-d tensors are supported, got shape [${shape.join(', ')}]`);
  if (!Number.isInteger(groups) || groups <= 0 || shape[0] % groups !== 0) {
    throw new RangeError(`dirac_: dim 0 (${shape[0]}) must be divisible by groups (${groups})`);
  }
  const outPerGroup = shape[0] / groups;
  const n = Math.min(outPerGroup, shape[1]);
  const kernel = shape.slice(2);
  noGrad(() => {
    t.zero_();
    scope(() => {
      for (let g = 0; g < groups; g++) {
        for (let d = 0; d < n; d++) {
          let view = t.select(0, g * outPerGroup + d).select(0, d);
          for (const k of kernel) view = view.select(0, Math.floor(k / 2));
          view.fill_(1);
        }
      }
    });
  });
  return t;
}

/** The identity matrix (ones on the diagonal of a 2-d tensor, zeros elsewhere), as torch.nn.init.eye_. */
export function eye_(t: Tensor): Tensor {
  if (t.ndim !== 2) throw new RangeError(`eye_: only 2-d tensors are supported, got shape [${t.shape.join(', ')}]`);
  noGrad(() => {
    t.zero_();
    scope(() => { t.diagonal().fill_(1); });
  });
  return t;
}
