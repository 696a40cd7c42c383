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
