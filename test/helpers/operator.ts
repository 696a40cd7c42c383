// Shared helpers of the orthogonality tests: the dense matrix of a layer's
// linear map (by feeding it the identity basis), its singular values in
// float64, the assertions on them, and a few SGD steps that move the raw
// weights the way Orthogonium's check_orthogonal_layer does.
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { Module, Parametrization } from '../../src/nn/index.js';
import { SGD } from '../../src/optim/index.js';

type Tensor = torch.Tensor;

/** Anything with a forward from one tensor to one tensor. */
export interface Layer extends Module { forward(x: Tensor): Tensor }

/**
 * The dense float64 matrix of a layer (run in eval mode, no grad) or of a
 * plain function, on inputs of shape inShape ([C, H, W] for convolutions,
 * [features] for linear layers): row i is f(e_i) flattened, so the matrix is
 * [C·H·W, out]. The map must be linear (layers without bias).
 */
export function denseOperator(f: Layer | ((x: Tensor) => Tensor), inShape: number[]): Tensor {
  const n = inShape.reduce((a, b) => a * b, 1);
  return torch.noGrad(() => torch.scope(() => {
    const basis = torch.eye(n).view(n, ...inShape);
    let out: Tensor;
    if (typeof f === 'function') {
      out = f(basis);
    } else {
      const wasTraining = f.training;
      f.eval();
      try {
        out = f.forward(basis);
      } finally {
        if (wasTraining) f.train();
      }
    }
    return out.reshape([n, -1]).to('float64');
  }));
}

/** Singular values (decreasing) of a matrix, as plain numbers, computed in float64. */
export function singularValues(matrix: Tensor): number[] {
  return torch.noGrad(() => torch.scope(() => torch.linalg.svdvals(matrix.to('float64')).toFlatArray()));
}

/** Singular values of the dense operator of a layer (or function) on [C, H, W] inputs, plus the matrix size. */
export function operatorSingularValues(f: Layer | ((x: Tensor) => Tensor), inShape: number[]): { values: number[]; rows: number; cols: number } {
  return torch.scope(() => {
    const m = denseOperator(f, inShape);
    const [rows, cols] = m.shape;
    return { values: singularValues(m), rows, cols };
  });
}

export interface SpectrumCheck {
  /** Largest allowed singular value is 1 + maxTol (default 1e-4). */
  maxTol?: number;
  /** Smallest of the min(rows, cols) singular values must be ≥ minBound (default 1 − 1e-4); null: not checked. */
  minBound?: number | null;
}

const fmt = (v: number): string => v.toPrecision(8);

/**
 * Asserts the spectrum of an operator: exactly min(rows, cols) values, the
 * largest ≤ 1 + maxTol, the smallest ≥ minBound (orthogonal: row- or
 * column-orthonormal when rows ≠ cols).
 */
export function assertSpectrum(spec: { values: number[]; rows: number; cols: number }, check: SpectrumCheck, what: string): void {
  const { values, rows, cols } = spec;
  const maxTol = check.maxTol ?? 1e-4;
  const minBound = check.minBound === undefined ? 1 - 1e-4 : check.minBound;
  assert.equal(values.length, Math.min(rows, cols), `${what}: ${values.length} singular values for a ${rows}x${cols} matrix`);
  assert.ok(values.every(Number.isFinite), `${what}: non-finite singular values`);
  const max = Math.max(...values);
  const min = Math.min(...values);
  assert.ok(max <= 1 + maxTol, `${what}: largest singular value ${fmt(max)} > 1 + ${maxTol} (smallest ${fmt(min)}, ${rows}x${cols})`);
  if (minBound !== null) {
    assert.ok(min >= minBound, `${what}: smallest singular value ${fmt(min)} < ${minBound} (largest ${fmt(max)}, ${rows}x${cols})`);
  }
}

/**
 * Orthogonium's check_orthogonal_layer training part: SGD on −mean(output)
 * in train mode for `steps` steps on random inputs of shape [batch, ...inShape]
 * (Gaussian, mean 1); leaves the layer in eval mode.
 * Returns the largest absolute change of any raw parameter, so callers can
 * check that the weights really moved.
 */
export function trainSteps(layer: Layer, inShape: number[], options: { steps?: number; lr?: number; batch?: number } = {}): number {
  const steps = options.steps ?? 10;
  const params = layer.parameters();
  const before = torch.noGrad(() => params.map((p) => torch.keep(p.clone())));
  const optimizer = new SGD(params, { lr: options.lr ?? 1e-2 });
  layer.train();
  for (let i = 0; i < steps; i++) {
    torch.scope(() => {
      optimizer.zeroGrad();
      // Inputs with a non-zero mean: with zero-mean noise, −mean(output) has an
      // expected gradient of zero and the weights would barely move.
      const x = torch.randn([options.batch ?? 2, ...inShape]).add(1);
      const loss = layer.forward(x).mean().neg();
      loss.backward();
      optimizer.step();
    });
  }
  layer.eval();
  const moved = torch.noGrad(() => torch.scope(() =>
    Math.max(0, ...params.filter((p) => p.numel() > 0).map((p) => (p.sub(before[params.indexOf(p)]).abs().max() as Tensor).item()))));
  before.forEach((t) => t.dispose());
  return moved;
}

/**
 * Forward + backward in train mode with a random input and a random output
 * weighting; asserts every trainable parameter got a finite, non-zero grad.
 */
export function assertGradientsReachParameters(layer: Layer, inShape: number[], what: string): void {
  torch.scope(() => {
    layer.train();
    layer.zeroGrad();
    const x = torch.randn([2, ...inShape]);
    const y = layer.forward(x);
    y.mul(torch.randnLike(y)).sum().backward();
    const named = [...layer.namedParameters()].filter(([, p]) => p.requiresGrad);
    assert.ok(named.length > 0, `${what}: no trainable parameter`);
    for (const [name, p] of named) {
      const g = p.grad;
      assert.ok(g !== null, `${what}: parameter ${name} got no gradient`);
      const finite = (g.isfinite().all() as Tensor).item();
      assert.ok(finite, `${what}: parameter ${name} has a non-finite gradient`);
      const norm = (g.abs().max() as Tensor).item();
      assert.ok(norm > 0, `${what}: parameter ${name} has an all-zero gradient`);
    }
    layer.zeroGrad();
  });
}

/**
 * Wraps the forward of every Parametrization step inside `layer` with a
 * counter; returns a function that reads the total number of calls.
 */
export function countParametrizationCalls(layer: Module): () => number {
  let calls = 0;
  for (const m of layer.modules()) {
    if (!(m instanceof Parametrization)) continue;
    const original = m.forward.bind(m);
    m.forward = (x: Tensor): Tensor => { calls++; return original(x); };
  }
  return () => calls;
}

/** Largest absolute difference of two tensors. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  return torch.noGrad(() => torch.scope(() => (a.to('float64').sub(b.to('float64')).abs().max() as Tensor).item()));
}

/** A short name for a configuration, for messages and test names. */
export function configName(config: Record<string, unknown>): string {
  return Object.entries(config).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}
