// Shared by the normalization tests: seeded random inputs, forward/backward
// steps for the PyTorch comparison, and modules whose affine parameters get
// random values (so that their gradients matter).
import { test } from 'node:test';
import { torch, nn } from '../../src/index.js';
import { randomTensor } from './gradcheck.js';
import { assertStepsMatch, skipWithoutTorch, stepsSpec } from './pytorch.js';
import type { ModuleStep } from './pytorch.js';

type Tensor = torch.Tensor;

export interface NormCase { ours: nn.Module; python: string; steps: ModuleStep[] }

export function normCases(firstSeed: number) {
  let seed = firstSeed;
  const cases: Record<string, NormCase> = {};
  const nextSeed = (): number => seed++;
  const rnd = (shape: number[], lo = -1, hi = 1): Tensor => torch.keep(randomTensor(shape, seed++, lo, hi));
  const step = (shape: number[], train: boolean, lo = -2, hi = 3): ModuleStep => ({ x: rnd(shape, lo, hi), proj: rnd(shape), train });
  const randomizeAffine = (m: nn.Module): void => {
    torch.noGrad(() => {
      for (const [, p] of m.namedParameters()) {
        const r = randomTensor(p.shape, seed++, 0.5, 1.5);
        p.copy_(r);
        r.dispose();
      }
    });
  };
  const addCase = (name: string, ours: nn.Module, python: string, steps: ModuleStep[]): void => {
    randomizeAffine(ours);
    cases[name] = { ours, python, steps };
  };
  return { cases, rnd, step, randomizeAffine, addCase, nextSeed };
}

/** What the PyTorch script needs of each case: its constructor and the steps to replay. */
export function caseSpecs(cases: Record<string, NormCase>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(cases).map(([name, c]) => [name, { python: c.python, ...(stepsSpec(c.ours, c.steps) as object) }]));
}

/** One test per case: our module's steps against PyTorch's recorded ones. */
export function testEachCase(cases: Record<string, NormCase>, reference: () => Record<string, unknown> | null): void {
  for (const name of Object.keys(cases)) {
    test(`${name}: outputs, gradients, running statistics and state dict match PyTorch`, { skip: skipWithoutTorch }, () => {
      const c = cases[name];
      assertStepsMatch(c.ours, c.steps, reference()![name] as never, undefined, name);
    });
  }
}
