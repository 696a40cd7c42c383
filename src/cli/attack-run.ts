// The work of `orthogonium attack` (see attack-command.ts): certify the test
// images, attack them, compare, report.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { scope } from '../torch/index.js';
import { attackL2, certify, soundnessReport } from '../losses/index.js';
import type { CertifyResult, SoundnessReport } from '../losses/index.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { Evaluation, disposeEvaluation, loadEvaluation } from './checkpoint-eval.js';
import { formatRadius } from './eval-args.js';
import type { AttackArgs } from './attack-command.js';

/** Smallest adversarial distance per sample, batch by batch (with progress on a terminal). */
function attackDistances(e: Evaluation, a: AttackArgs): number[] {
  const n = e.x.shape[0];
  const distances: number[] = [];
  const started = Date.now();
  for (let start = 0; start < n; start += a.batchSize) {
    const len = Math.min(a.batchSize, n - start);
    const result = scope(() => attackL2(e.model, e.x.narrow(0, start, len), e.y.narrow(0, start, len), { eps: a.eps, restarts: a.restarts, steps: a.steps }));
    distances.push(...result.norms);
    if (process.stderr.isTTY) process.stderr.write(`\rattacked ${start + len}/${n} images (${((Date.now() - started) / 1000).toFixed(0)} s)${start + len === n ? '\n' : ''}`);
  }
  return distances;
}

function csvNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? 'inf' : '-inf';
}

function writeCsv(dir: string, cert: CertifyResult, distances: number[], report: SoundnessReport): string {
  const violated = new Set(report.violations.map((v) => v.index));
  const rows = cert.radii.map((r, i) => `${i},${cert.labels[i]},${cert.predictions[i]},${csvNumber(r)},${csvNumber(distances[i])},${violated.has(i) ? 1 : 0}`);
  const path = join(dir, 'attack.csv');
  writeFileAtomic(path, Buffer.from(['index,label,prediction,radius,attack_distance,violation', ...rows].join('\n') + '\n'));
  return path;
}

const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
const num = (v: number): string => (Number.isNaN(v) ? '—' : v.toFixed(4));

function printTable(a: AttackArgs, cert: CertifyResult, report: SoundnessReport, dtype: string): void {
  console.log(`${a.dataset}: ${report.samples} test images, ${cert.lastLayer} head, L = ${cert.lipschitz.toFixed(4)}; ` +
    `attack: ${a.restarts} restarts × ${a.steps} PGD steps per radius, ${dtype}`);
  console.log(`clean accuracy ${pct(report.cleanAccuracy)}\n`);
  const header = ['radius', 'certified', 'under attack', 'correct, not certified', 'broken by attack', 'median attack distance', 'median certified radius'];
  const rows = report.perEps.map((p) => [formatRadius(p.eps), pct(p.certifiedAccuracy), pct(p.robustAccuracy), String(p.uncertified), String(p.broken), num(p.medianAttackDistance), num(p.medianRadius)]);
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (cells: string[]): string => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  ');
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log(`\nsoundness: ${report.violations.length} violation${report.violations.length === 1 ? '' : 's'} among ${report.certified} certified samples ` +
    `(attack distance / certified radius: min ${num(report.ratio.min)}, median ${num(report.ratio.median)})`);
  if (report.withinTolerance > 0) console.log(`${report.withinTolerance} samples fooled below their radius within the rounding tolerance (not counted)`);
}

export function runAttack(a: AttackArgs): number {
  const dtype = a.float64 ? 'float64' : 'float32';
  const evaluation = loadEvaluation(a, dtype);
  let cert: CertifyResult;
  let distances: number[];
  try {
    cert = certify(evaluation.model, { x: evaluation.x, y: evaluation.y }, { eps: a.eps, lipschitz: evaluation.lipschitz, lastLayer: 'auto', batchSize: 500 });
    distances = attackDistances(evaluation, a);
  } finally {
    disposeEvaluation(evaluation);
  }
  const report = soundnessReport(cert, distances);

  const files: Record<string, string> = {};
  if (a.out) {
    const dir = resolve(a.out);
    mkdirSync(dir, { recursive: true });
    files.csv = writeCsv(dir, cert, distances, report);
  }
  if (a.json) {
    console.log(JSON.stringify({
      checkpoint: a.checkpoint, dataset: a.dataset, dtype, lastLayer: cert.lastLayer, lipschitz: cert.lipschitz,
      attack: { restarts: a.restarts, steps: a.steps }, ...report, files,
    }, null, 2));
  } else {
    printTable(a, cert, report, dtype);
    for (const [kind, path] of Object.entries(files)) console.log(`wrote ${kind}: ${path}`);
  }
  if (report.violations.length > 0) {
    const shown = report.violations.slice(0, 10).map((v) => `  sample ${v.index} (label ${v.label}): certified radius ${v.radius}, misclassified at distance ${v.attackDistance}`);
    console.error([
      `orthogonium attack: CERTIFICATE VIOLATION — ${report.violations.length} certified sample${report.violations.length === 1 ? ' was' : 's were'} ` +
        'misclassified inside their certified radius: these certificates are wrong (the model is not 1-Lipschitz as its head type and input normalization assume)',
      ...shown,
      ...(report.violations.length > shown.length ? [`  … and ${report.violations.length - shown.length} more`] : []),
    ].join('\n'));
    return 1;
  }
  return 0;
}
