// The options `orthogonium certify` and `orthogonium attack` share, parsed
// without loading libtorch so that a mistyped command line is answered at once.
import { parseEps } from '../losses/eps.js';

/** A mistake in the command line: the command prints it with the usage and exits 2. */
export class UsageError extends Error {}

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

/** Handles one command-specific option; `value()` consumes and returns its argument. */
export type OptionHandler = (value: () => string) => void;

export function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer, got '${text}'`);
  return n;
}

/** Parses the shared options plus the command's own (`extra`, by flag). */
export function parseEvalArgs(args: string[], extra: Record<string, OptionHandler> = {}): EvalArgs {
  const out: Partial<EvalArgs> & { json: boolean; eps: number[] } = { json: false, eps: [36 / 255, 72 / 255, 108 / 255] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = (): string => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--json') out.json = true;
    else if (arg === '--checkpoint') out.checkpoint = value();
    else if (arg === '--dataset') out.dataset = value();
    else if (arg === '--data-dir') out.dataDir = value();
    else if (arg === '--out') out.out = value();
    else if (arg === '--eps') {
      try {
        out.eps = parseEps(value());
      } catch (error) {
        if (error instanceof UsageError) throw error;
        throw new UsageError(`--eps: ${(error as Error).message.replace(/^parseEps: /, '')}`);
      }
    } else if (arg === '--limit') out.limit = positiveInt('--limit', value());
    else if (Object.hasOwn(extra, arg)) extra[arg](value);
    else throw new UsageError(`unknown option ${arg}`);
  }
  if (!out.checkpoint) throw new UsageError('--checkpoint is required');
  if (!out.dataset) throw new UsageError(`--dataset is required (one of ${DATASETS.join(', ')})`);
  if (!DATASETS.includes(out.dataset)) throw new UsageError(`unknown dataset '${out.dataset}'; expected one of ${DATASETS.join(', ')}`);
  return out as EvalArgs;
}

/** A radius as it is usually written: 36/255 when it is a whole number of 255ths, else the number. */
export function formatRadius(eps: number): string {
  const k = eps * 255;
  return Math.abs(k - Math.round(k)) < 1e-9 ? `${Math.round(k)}/255` : String(Number(eps.toPrecision(6)));
}
