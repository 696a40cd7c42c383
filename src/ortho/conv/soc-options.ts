// Options of the SOC convolutions: those of the AOC ones plus the
// exponential's expParams, and the inner kernel size rule of the strided
// constructions (SOC needs odd kernels).
import type { ExpParams } from './soc-kernel.js';
import type { OrthoConv2dOptions, OrthoConvTranspose2dOptions } from './options.js';

export interface SOCConv2dOptions extends OrthoConv2dOptions {
  /** The convolution exponential's settings (default { expNiter: 3 }). */
  expParams?: ExpParams;
}

/**
 * As Orthogonium's SOCTranspose, minus its padding_mode: PyTorch's transposed
 * convolutions only pad with zeros (the AOC transposed layers omit it too).
 */
export interface SOCConvTranspose2dOptions extends OrthoConvTranspose2dOptions {
  expParams?: ExpParams;
}

const warnedInnerSizes = new Set<string>();

/**
 * Kernel size of the stride-1 SOC factor of a kernel-k, stride-s layer: k − s + 1,
 * moved to an odd size as Orthogonium does (up to 3 when ≤ 2, else down by one), with a warning.
 */
export function socInnerKernelSize(layer: string, kernelSize: number, stride: number): number {
  let inner = kernelSize - (stride - 1);
  if (inner % 2 === 0) {
    const changed = inner <= 2 ? inner + 1 : inner - 1;
    const key = `${layer}:${kernelSize}:${stride}`;
    if (!warnedInnerSizes.has(key)) {
      warnedInnerSizes.add(key);
      process.emitWarning(`${layer}: the inner SOC kernel of kernelSize ${kernelSize}, stride ${stride} is ${inner}, even, so ${changed} is used ` +
        '(SOC needs odd kernels)', 'OrthogoniumWarning');
    }
    inner = changed;
  }
  return inner;
}
