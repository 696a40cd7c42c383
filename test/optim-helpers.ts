// Shared pieces of the optimizer tests: float64 parameters, a separable
// quadratic loss whose gradient a * (w - c) the JS references compute
// themselves, and close comparisons of number arrays.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as torch from '../src/torch/index.js';

export type Tensor = torch.Tensor;

/** Deterministic numbers in [lo, hi) (a small LCG, independent of libtorch's generator). */
export function numbers(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  });
}

/** A problem: starting values, curvatures a > 0 and centres c for each parameter. */
export interface Problem { w0: number[][]; a: number[][]; c: number[][]; shapes: number[][] }

export function problem(shapes: number[][] = [[3], [2, 2]], seed = 7): Problem {
  const sizes = shapes.map((s) => s.reduce((x, y) => x * y, 1));
  return {
    shapes,
    w0: sizes.map((n, i) => numbers(n, seed + i, -2, 2)),
    a: sizes.map((n, i) => numbers(n, seed + 100 + i, 0.5, 3)),
    c: sizes.map((n, i) => numbers(n, seed + 200 + i, -1, 1)),
  };
}

/** Leaf float64 parameters holding the problem's starting values (kept out of scopes). */
export function makeParams(pb: Problem): Tensor[] {
  return torch.keep(pb.w0.map((w, i) => torch.fromTypedArray(new Float64Array(w), pb.shapes[i], { requiresGrad: true })));
}

/** Accumulates the gradient of sum_i 0.5 a_i (w_i - c_i)^2 into the parameters (autograd, float64). */
export function backward(params: Tensor[], pb: Problem): void {
  torch.scope(() => {
    let loss: Tensor | null = null;
    params.forEach((p, i) => {
      const a = torch.fromTypedArray(new Float64Array(pb.a[i]), pb.shapes[i]);
      const c = torch.fromTypedArray(new Float64Array(pb.c[i]), pb.shapes[i]);
      const term = p.sub(c).square().mul(a).sum().mul(0.5);
      loss = loss === null ? term : loss.add(term);
    });
    loss!.backward();
  });
}

/** The same gradient computed in plain JS. */
export const jsGrad = (w: number[], a: number[], c: number[]): number[] => w.map((x, j) => a[j] * (x - c[j]));

export const values = (params: Tensor[]): number[][] => params.map((p) => p.toFlatArray());

/** Element-wise |actual - expected| <= tol * max(1, |expected|). */
export function assertClose(actual: number[][], expected: number[][], tol = 1e-10, message = ''): void {
  assert.equal(actual.length, expected.length, `${message}: parameter count`);
  actual.forEach((row, i) => {
    assert.equal(row.length, expected[i].length, `${message}: size of parameter ${i}`);
    row.forEach((v, j) => {
      const e = expected[i][j];
      assert.ok(Math.abs(v - e) <= tol * Math.max(1, Math.abs(e)), `${message}: parameter ${i}[${j}] = ${v}, expected ${e}`);
    });
  });
}

export const disposeAll = (params: Tensor[]): void => params.forEach((p) => p.dispose());

// ---- PyTorch references (Debian's python3-torch, which CI installs) ------------

export const PYTHON = '/usr/bin/python3';

/** The result of a Python script run on JSON input, or why it could not run (no Python or no torch: skip). */
export type Reference<T> = { value: T; skip: false } | { value: null; skip: string };

/**
 * Runs `script` with /usr/bin/python3, `input` as JSON on stdin, and parses
 * its stdout as JSON. A missing python3 or torch module means skip (with the
 * reason); any other failure throws, so a broken reference fails the tests.
 */
export function pytorchReference<T>(script: string, input: unknown): Reference<T> {
  if (!existsSync(PYTHON)) return { value: null, skip: `${PYTHON} is not installed` };
  const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0 && /No module named '?torch'?/.test(r.stderr)) return { value: null, skip: 'Python torch (python3-torch) is not installed' };
  if (r.status !== 0) throw new Error(`the PyTorch reference script failed (status ${r.status}):\n${r.stderr}`);
  return { value: JSON.parse(r.stdout) as T, skip: false };
}
