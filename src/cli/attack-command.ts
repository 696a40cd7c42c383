// `orthogonium attack --checkpoint FILE --dataset fashion-mnist|mnist|cifar10 [--data-dir DIR]
//   [--eps 36/255,72/255,108/255] [--limit N] [--restarts N] [--steps N] [--batch-size N]
//   [--float64] [--json] [--out DIR]`
// Checks a checkpoint's certificates empirically: certifies the test images,
// then runs the L2 attack on them in pixel space. Any certified sample the
// attack misclassifies inside its certified radius is a violation (exit 1).
// Prints certified vs empirical robust accuracy at each radius and how far
// the attack gets on the samples that are not certified.
import { EvalArgs, parseEvalArgs } from './eval-args.js';
import { withUsage } from './args.js';

export interface AttackArgs extends EvalArgs { restarts: number; steps: number; batchSize: number; float64: boolean }

/** The attack runs hundreds of forward/backward passes per image: by default only the first 1000 test images. */
const DEFAULT_LIMIT = 1000;

function parse(args: string[]): AttackArgs {
  const a = parseEvalArgs(args, {
    '--restarts': { key: 'restarts', kind: 'positive-int' },
    '--steps': { key: 'steps', kind: 'positive-int' },
    '--batch-size': { key: 'batchSize', kind: 'positive-int' },
    '--float64': { key: 'float64', kind: 'bool' },
  });
  return { restarts: 3, steps: 40, batchSize: 250, float64: false, ...a, limit: a.limit ?? DEFAULT_LIMIT } as AttackArgs;
}

export function attackCommand(args: string[], usage: string): Promise<number> {
  return withUsage('attack', usage, async () => {
    const a = parse(args);
    // libtorch is loaded only now, for a valid command line.
    const { runAttack } = await import('./attack-run.js');
    return runAttack(a);
  });
}
