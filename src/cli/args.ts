// A small declarative parser for `--flag value` command lines: each flag has a
// kind that checks and converts its value, so every command reports bad
// input the same way (a UsageError naming the flag, exit code 2).
import { parseEps } from '../losses/eps.js'; // not the losses index: a bad command line is answered without loading libtorch

/** A mistake in the command line: the command prints it with the usage and exits 2. */
export class UsageError extends Error {}

export type FlagKind = 'string' | 'positive-int' | 'non-negative-int' | 'positive-number' | 'non-negative-number' | 'bool' | 'eps' | 'limit'
  | 'numbers' | 'shape' | 'count-or-all';

export interface FlagSpec {
  key: string;
  kind: FlagKind;
  choices?: readonly string[];
  /** The value of the flag given without one (`--fast-dev-run` alone means 1); unset: a value is required. */
  bare?: number;
}

export type ParsedArgs = Record<string, string | number | boolean | number[]>;

function convert(flag: string, spec: FlagSpec, text: string): string | number | number[] {
  const fail = (what: string): never => { throw new UsageError(`${flag} must be ${what}, got '${text}'`); };
  switch (spec.kind) {
    case 'string':
      if (spec.choices && !spec.choices.includes(text)) {
        throw new UsageError(`unknown ${spec.key} '${text}'; expected one of ${spec.choices.join(', ')}`);
      }
      return text;
    case 'eps':
      try {
        return parseEps(text);
      } catch (error) {
        throw new UsageError(`${flag}: ${(error as Error).message.replace(/^parseEps: /, '')}`);
      }
    case 'positive-int':
    case 'non-negative-int': {
      const n = Number(text);
      const min = spec.kind === 'positive-int' ? 1 : 0;
      if (text.trim() === '' || !Number.isInteger(n) || n < min) fail(`${min === 1 ? 'a positive' : 'a non-negative'} integer`);
      return n;
    }
    case 'count-or-all': {
      // A count ≥ 0, or -1 for all (Lightning's num_sanity_val_steps).
      const n = Number(text);
      if (text.trim() === '' || !Number.isInteger(n) || n < -1) fail('an integer ≥ 0, or -1 for all');
      return n;
    }
    case 'numbers':
    case 'shape': {
      // Comma-separated: any finite numbers ('numbers', e.g. a mean) or positive integers ('shape', e.g. 3,32,32).
      const values = text.split(',').map((v) => Number(v.trim()));
      const shape = spec.kind === 'shape';
      if (text.trim() === '' || values.some((v) => !Number.isFinite(v) || (shape && !(Number.isInteger(v) && v > 0)))) {
        fail(shape ? 'positive integers like 3,32,32' : 'comma-separated numbers');
      }
      return values;
    }
    case 'limit': {
      // A batch count, or a fraction of the loader in (0, 1].
      const n = Number(text);
      if (text.trim() === '' || !(n > 0) || (!Number.isInteger(n) && n > 1)) fail('a positive batch count or a fraction in (0, 1]');
      return n;
    }
    default: {
      const n = Number(text);
      const positive = spec.kind === 'positive-number';
      if (text.trim() === '' || !Number.isFinite(n) || (positive ? n <= 0 : n < 0)) fail(`a finite number ${positive ? '> 0' : '≥ 0'}`);
      return n;
    }
  }
}

/** Parses `args` against `flags`; unknown flags and missing values are UsageErrors. */
export function parseFlags(args: string[], flags: Record<string, FlagSpec>): ParsedArgs {
  const out: ParsedArgs = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const spec = flags[flag];
    if (!spec) throw new UsageError(`unknown option ${flag}`);
    if (spec.kind === 'bool') {
      out[spec.key] = true;
      continue;
    }
    const value = args[i + 1];
    // A word after the flag is its value (so '-1' is refused as a value, not taken for another flag).
    if (value === undefined || (value.startsWith('--') && value.length > 2)) {
      if (spec.bare === undefined) throw new UsageError(`${flag} needs a value`);
      out[spec.key] = spec.bare;
      continue;
    }
    out[spec.key] = convert(flag, spec, value);
    i++;
  }
  return out;
}

/** Runs a command body, turning UsageErrors into "orthogonium <command>: …" + usage on stderr and exit code 2. */
export async function withUsage(command: string, usage: string, body: () => number | Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`orthogonium ${command}: ${error.message}\n\n${usage}`);
    return 2;
  }
}
