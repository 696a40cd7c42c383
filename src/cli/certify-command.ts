// `orthogonium certify --checkpoint FILE --dataset fashion-mnist|mnist|cifar10 [--data-dir DIR]
//   [--eps 36/255,72/255,108/255] [--limit N] [--json] [--out DIR]`
// Certified accuracy of a trained checkpoint on a test set: a table (or one
// JSON object), and with --out the per-sample radii (CSV) and the certified
// accuracy-vs-radius plot (SVG and PNG), each written atomically.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { certify } from '../losses/index.js';
import { certifiedAccuracySvg, svgToPng } from '../train/certified-plot.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { disposeEvaluation, loadEvaluation } from './checkpoint-eval.js';
import { EvalArgs, parseEvalArgs } from './eval-args.js';
import { withUsage } from './args.js';

export { UsageError } from './eval-args.js';

export function certifyCommand(args: string[], usage: string): Promise<number> {
  return withUsage('certify', usage, () => runCertify(parseEvalArgs(args)));
}

function runCertify(a: EvalArgs): number {
  const evaluation = loadEvaluation(a);
  let report;
  try {
    report = certify(evaluation.model, { x: evaluation.x, y: evaluation.y }, { eps: a.eps, lipschitz: evaluation.lipschitz, lastLayer: 'auto', batchSize: 500 });
  } finally {
    disposeEvaluation(evaluation);
  }
  const files: Record<string, string> = {};
  if (a.out) {
    const dir = resolve(a.out);
    mkdirSync(dir, { recursive: true });
    const csv = ['index,label,prediction,radius', ...report.radii.map((r, i) => `${i},${report.labels[i]},${report.predictions[i]},${r}`)].join('\n') + '\n';
    files.radii = join(dir, 'radii.csv');
    writeFileAtomic(files.radii, Buffer.from(csv));
    const svg = certifiedAccuracySvg(report.radii.map((r) => r), { title: `Certified accuracy — ${a.dataset}`, marks: a.eps });
    files.svg = join(dir, 'certified-accuracy.svg');
    writeFileAtomic(files.svg, Buffer.from(svg));
    files.png = join(dir, 'certified-accuracy.png');
    writeFileAtomic(files.png, svgToPng(svg));
  }
  const summary = {
    checkpoint: a.checkpoint, dataset: a.dataset, samples: report.labels.length, lastLayer: report.lastLayer, lipschitz: report.lipschitz,
    cleanAccuracy: report.cleanAccuracy, certifiedAccuracy: report.certifiedAccuracy, files,
  };
  if (a.json) {
    console.log(JSON.stringify(summary, null, 2));
  } else {
    console.log(`${a.dataset}: ${summary.samples} test images, ${report.lastLayer} head, L = ${report.lipschitz.toFixed(4)}`);
    console.log(`clean accuracy        ${(100 * report.cleanAccuracy).toFixed(2)}%`);
    for (const { eps, accuracy } of report.certifiedAccuracy) {
      console.log(`certified at ε=${(eps * 255).toFixed(1).replace(/\.0$/, '')}/255  ${(100 * accuracy).toFixed(2)}%`);
    }
    for (const [kind, path] of Object.entries(files)) console.log(`wrote ${kind}: ${path}`);
  }
  return 0;
}
