// The test images a served page offers: the first test image of each class
// of the dataset a checkpoint names (read with src/data), as plain arrays to
// embed in the page at build time. A missing dataset is not an error: the
// page then offers upload and drawing only, and the reason is reported.
import { openDataset } from '../data/index.js';
import type { PageSample } from './page-sample.js';

export type { PageSample } from './page-sample.js';

export interface SampleSet {
  samples: PageSample[];
  /** Why there are no samples, when there are none. */
  note?: string;
}

export interface SampleOptions {
  dataset?: string;
  dataDir?: string;
  /** [C, H, W] the model takes; a dataset of another shape gives no samples. */
  inputShape: number[];
  classNames?: string[];
  /** At most this many images (default 10), one per class. */
  count?: number;
}

export function testSamples(o: SampleOptions): SampleSet {
  if (!o.dataset) return { samples: [], note: 'the checkpoint names no dataset' };
  let ds;
  try {
    ds = openDataset(o.dataset, o.dataDir).val();
  } catch (error) {
    return { samples: [], note: `dataset '${o.dataset}' could not be read: ${(error as Error).message}` };
  }
  const shape = [ds.channels, ds.height, ds.width];
  if (shape.join(',') !== o.inputShape.join(',')) {
    return { samples: [], note: `dataset '${o.dataset}' has images of [${shape.join(', ')}] but the model takes [${o.inputShape.join(', ')}]` };
  }
  const count = o.count ?? 10;
  const per = ds.channels * ds.height * ds.width;
  const seen = new Set<number>();
  const samples: PageSample[] = [];
  for (let i = 0; i < ds.length && samples.length < count; i++) {
    const label = ds.labels[i];
    if (seen.has(label)) continue;
    seen.add(label);
    samples.push({
      index: i,
      label,
      className: o.classNames?.[label] ?? ds.classes[label] ?? String(label),
      pixels: Array.from(ds.images.subarray(i * per, (i + 1) * per)),
    });
  }
  return { samples: samples.sort((a, b) => a.label - b.label) };
}
