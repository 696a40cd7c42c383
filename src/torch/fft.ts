// torch.fft: the 2-d transforms used for exact singular values of circular convolutions.
import { aten } from './dispatch.js';
import { Tensor } from './tensor.js';

export type FftNorm = 'backward' | 'ortho' | 'forward';
type Size2 = [number, number] | undefined;

export const fft2 = (x: Tensor, s?: Size2, dim: [number, number] = [-2, -1], norm?: FftNorm): Tensor => aten('fft_fft2', x, s, dim, norm);
export const ifft2 = (x: Tensor, s?: Size2, dim: [number, number] = [-2, -1], norm?: FftNorm): Tensor => aten('fft_ifft2', x, s, dim, norm);
export const rfft2 = (x: Tensor, s?: Size2, dim: [number, number] = [-2, -1], norm?: FftNorm): Tensor => aten('fft_rfft2', x, s, dim, norm);
export const irfft2 = (x: Tensor, s?: Size2, dim: [number, number] = [-2, -1], norm?: FftNorm): Tensor => aten('fft_irfft2', x, s, dim, norm);
export const fft = (x: Tensor, n?: number, dim = -1, norm?: FftNorm): Tensor => aten('fft_fft', x, n, dim, norm);
