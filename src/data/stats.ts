// Per-channel statistics of an image dataset, in [0, 1] units (pixel / 255),
// over all pixels of all images — what the seed hard-codes as img_mean / img_std.
import { ArrayImageDataset } from './images.js';

export interface ChannelStats {
  mean: number[];
  /** Population standard deviation (divides by the pixel count, not count − 1). */
  std: number[];
}

/** Exact: integer sums in doubles (exact up to 2^53), so the result does not depend on the order. */
export function channelStats(ds: Pick<ArrayImageDataset, 'images' | 'channels' | 'height' | 'width'>): ChannelStats {
  const { images, channels } = ds;
  const plane = ds.height * ds.width;
  const per = channels * plane;
  if (per === 0 || images.length % per !== 0) throw new RangeError(`channelStats: ${images.length} bytes is not a whole number of ${channels}×${ds.height}×${ds.width} images`);
  const n = images.length / per;
  if (n === 0) throw new RangeError('channelStats: the dataset is empty');
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  for (let img = 0; img < n; img++) {
    for (let c = 0; c < channels; c++) {
      const base = img * per + c * plane;
      let s = 0;
      let q = 0;
      for (let k = 0; k < plane; k++) {
        const v = images[base + k];
        s += v;
        q += v * v;
      }
      sum[c] += s;
      sq[c] += q;
    }
  }
  const count = n * plane;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = sum[c] / count;
    // variance from exact integer sums: (Σv² − (Σv)²/N) / N, all in pixel units, then scaled to [0, 1]
    const variance = Math.max(0, (sq[c] - (sum[c] * sum[c]) / count) / count);
    mean.push(m / 255);
    std.push(Math.sqrt(variance) / 255);
  }
  return { mean, std };
}
