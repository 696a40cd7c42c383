// The generator and discriminator of Orthogonium's scripts/ortho_gan/ortho_GAN.py
// (PyTorch's DCGAN tutorial with orthogonal layers): the generator stacks
// AdaptiveOrthoConvTranspose2d + MaxMin + BatchNorm2d stages and ends in Tanh;
// the discriminator stacks AdaptiveOrthoConv2d + MaxMin and ends in Sigmoid.
// Every convolution has kernel 4 and no bias; the script's 64×64 images
// (4 doubling stages after a 4×4 start) generalize to any size 4·2^k.
import { Tensor } from '../../src/torch/index.js';
import { BatchNorm2d, Module, Sequential, Sigmoid, Tanh, init } from '../../src/nn/index.js';
import { AdaptiveOrthoConv2d, AdaptiveOrthoConvTranspose2d, MaxMin } from '../../src/ortho/index.js';

export interface GanArchitecture {
  /** Side of the square images: 4·2^k (64 is the script's). */
  imageSize: number;
  /** Image channels (3 for CelebA, 1 for Fashion-MNIST). */
  channels: number;
  /** Size of the latent vector z (the script's nz = 100). */
  nz: number;
  /** Feature maps of the generator's last hidden stage (the script's ngf = 64). */
  ngf: number;
  /** Feature maps of the discriminator's first stage (the script's ndf = 64). */
  ndf: number;
}

/** k such that imageSize = 4·2^k: the number of stride-2 stages each network has. */
export function doublingStages(imageSize: number): number {
  const k = Math.log2(imageSize / 4);
  if (!Number.isInteger(imageSize) || imageSize < 4 || !Number.isInteger(k)) {
    throw new RangeError(`image size must be 4·2^k (4, 8, 16, 32, 64, 128, …), got ${imageSize}`);
  }
  return k;
}

function checkArchitecture(a: GanArchitecture): number {
  const k = doublingStages(a.imageSize);
  for (const name of ['channels', 'nz', 'ngf', 'ndf'] as const) {
    if (!Number.isInteger(a[name]) || a[name] < 1) throw new RangeError(`${name} must be a positive integer, got ${a[name]}`);
  }
  // MaxMin pairs up channels, so every hidden stage needs an even width.
  if (k > 0 && (a.ngf % 2 !== 0 || a.ndf % 2 !== 0)) throw new RangeError(`ngf and ndf must be even (MaxMin splits channels in halves), got ${a.ngf} and ${a.ndf}`);
  return k;
}

/** The script's weights_init for BatchNorm: weight ~ N(1, 0.02), bias 0 (the orthogonal layers keep their own initialization). */
function dcganBatchNorm(features: number): BatchNorm2d {
  const bn = new BatchNorm2d(features);
  init.normal_(bn.weight!, 1, 0.02);
  init.zeros_(bn.bias!);
  return bn;
}

/** z [B, nz, 1, 1] → images [B, channels, S, S] in [-1, 1]. */
export class OrthoGenerator extends Module {
  readonly main: Sequential;

  constructor(readonly architecture: GanArchitecture) {
    super();
    const k = checkArchitecture(architecture);
    const { nz, ngf, channels } = architecture;
    const layers: Module[] = [];
    let inChannels = nz;
    for (let i = 0; i < k; i++) {
      // widths ngf·2^(k−1), …, 2·ngf, ngf; the first stage maps 1×1 to 4×4, the others double the side
      const outChannels = ngf * 2 ** (k - 1 - i);
      const first = i === 0;
      layers.push(
        AdaptiveOrthoConvTranspose2d({ inChannels, outChannels, kernelSize: 4, stride: first ? 1 : 2, padding: first ? 0 : 1, bias: false }),
        new MaxMin(),
        dcganBatchNorm(outChannels),
      );
      inChannels = outChannels;
    }
    layers.push(
      AdaptiveOrthoConvTranspose2d({ inChannels, outChannels: channels, kernelSize: 4, stride: k === 0 ? 1 : 2, padding: k === 0 ? 0 : 1, bias: false }),
      new Tanh(),
    );
    this.main = this.registerModule('main', new Sequential(...layers));
  }

  forward(z: Tensor): Tensor {
    const { nz } = this.architecture;
    if (z.ndim !== 4 || z.shape[1] !== nz || z.shape[2] !== 1 || z.shape[3] !== 1) {
      throw new RangeError(`OrthoGenerator: expected latent vectors [B, ${nz}, 1, 1], got [${z.shape.join(', ')}]`);
    }
    return this.main.forward(z);
  }
}

/**
 * images [B, channels, S, S] → probability of being real [B, 1, 1, 1].
 * `critic` (everything before the sigmoid) is 1-Lipschitz: orthogonal
 * convolutions with zero padding and MaxMin.
 */
export class OrthoDiscriminator extends Module {
  readonly critic: Sequential;
  readonly sigmoid = new Sigmoid();

  constructor(readonly architecture: GanArchitecture) {
    super();
    const k = checkArchitecture(architecture);
    const { ndf, channels } = architecture;
    const layers: Module[] = [];
    let inChannels = channels;
    for (let i = 0; i < k; i++) {
      const outChannels = ndf * 2 ** i; // ndf, 2·ndf, …: each stage halves the side
      layers.push(
        AdaptiveOrthoConv2d({ inChannels, outChannels, kernelSize: 4, stride: 2, padding: 1, bias: false, paddingMode: 'zeros' }),
        new MaxMin(),
      );
      inChannels = outChannels;
    }
    // 4×4 → 1×1
    layers.push(AdaptiveOrthoConv2d({ inChannels, outChannels: 1, kernelSize: 4, stride: 1, padding: 0, bias: false, paddingMode: 'zeros' }));
    this.critic = this.registerModule('critic', new Sequential(...layers));
    this.registerModule('sigmoid', this.sigmoid);
  }

  /** The score before the sigmoid, [B, 1, 1, 1]. */
  logits(x: Tensor): Tensor {
    const { channels, imageSize } = this.architecture;
    if (x.ndim !== 4 || x.shape[1] !== channels || x.shape[2] !== imageSize || x.shape[3] !== imageSize) {
      throw new RangeError(`OrthoDiscriminator: expected images [B, ${channels}, ${imageSize}, ${imageSize}], got [${x.shape.join(', ')}]`);
    }
    return this.critic.forward(x);
  }

  forward(x: Tensor): Tensor {
    return this.sigmoid.forward(this.logits(x));
  }
}
