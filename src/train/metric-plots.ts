// Training curves of a run: loss, accuracy and VRA per epoch, training and
// validation side by side, in one SVG (and PNG) written to the run folder.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';
import { Series, chartElements, svgDocument, svgToPng } from './svg-chart.js';

const PANELS: { metric: string; title: string; percent: boolean }[] = [
  { metric: 'loss', title: 'Loss', percent: false },
  { metric: 'accuracy', title: 'Accuracy', percent: true },
  { metric: 'vra', title: 'Verified robust accuracy', percent: true },
];

/** One row per epoch, as Trainer.history holds them (keys like loss, val_loss, accuracy…). */
export function trainingCurvesSvg(history: Record<string, number>[]): string {
  const width = 480;
  const height = 360;
  const panels = PANELS.filter((p) => history.some((row) => p.metric in row || `val_${p.metric}` in row));
  const elements = panels.flatMap((panel, i) => {
    const series: Series[] = [
      { name: 'train', points: history.filter((r) => panel.metric in r).map((r) => ({ x: r.epoch, y: r[panel.metric] })) },
      { name: 'validation', points: history.filter((r) => `val_${panel.metric}` in r).map((r) => ({ x: r.epoch, y: r[`val_${panel.metric}`] })), dashed: true },
    ];
    return chartElements({
      title: panel.title, xLabel: 'epoch', yLabel: panel.metric, series, width, height, origin: [i * width, 0],
      yRange: panel.percent ? [0, 1] : undefined,
      yFormat: panel.percent ? (v) => `${Math.round(v * 100)}%` : undefined,
    });
  });
  return svgDocument(Math.max(1, panels.length) * width, height, elements);
}

/** Writes training-curves.svg and .png into `dir`; returns their paths. */
export function writeTrainingCurves(dir: string, history: Record<string, number>[]): { svg: string; png: string } {
  mkdirSync(dir, { recursive: true });
  const svg = trainingCurvesSvg(history);
  const paths = { svg: join(dir, 'training-curves.svg'), png: join(dir, 'training-curves.png') };
  writeFileAtomic(paths.svg, Buffer.from(svg));
  writeFileAtomic(paths.png, svgToPng(svg));
  return paths;
}
