// The options `orthogonium certify` and `orthogonium attack` share, parsed
// without loading libtorch so that a mistyped command line is answered at once.
import { FlagSpec, ParsedArgs, UsageError, parseFlags } from './args.js';

export { UsageError } from './args.js';

export const DATASETS = ['fashion-mnist', 'mnist', 'cifar10'];

export interface EvalArgs {
  checkpoint: string;
  dataset: string;
  dataDir?: string;
  eps: number[];
  limit?: number;
  json: boolean;
  out?: string;
}

const EVAL_FLAGS: Record<string, FlagSpec> = {
  '--checkpoint': { key: 'checkpoint', kind: 'string' },
  '--dataset': { key: 'dataset', kind: 'string' },
  '--data-dir': { key: 'dataDir', kind: 'string' },
  '--out': { key: 'out', kind: 'string' },
  '--eps': { key: 'eps', kind: 'eps' },
  '--limit': { key: 'limit', kind: 'positive-int' },
  '--json': { key: 'json', kind: 'bool' },
};

/** Parses the shared options plus the command's own (`extra`, by flag); the extras come back under their keys. */
export function parseEvalArgs(args: string[], extra: Record<string, FlagSpec> = {}): EvalArgs & ParsedArgs {
  const parsed = parseFlags(args, { ...EVAL_FLAGS, ...extra });
  const out = { json: false, eps: [36 / 255, 72 / 255, 108 / 255], ...parsed } as EvalArgs & ParsedArgs;
  if (!out.checkpoint) throw new UsageError('--checkpoint is required');
  if (!out.dataset) throw new UsageError(`--dataset is required (one of ${DATASETS.join(', ')})`);
  if (!DATASETS.includes(out.dataset)) throw new UsageError(`unknown dataset '${out.dataset}'; expected one of ${DATASETS.join(', ')}`);
  return out;
}

/** A radius as it is usually written: 36/255 when it is a whole number of 255ths, else the number. */
export function formatRadius(eps: number): string {
  const k = eps * 255;
  return Math.abs(k - Math.round(k)) < 1e-9 ? `${Math.round(k)}/255` : String(Number(eps.toPrecision(6)));
}
