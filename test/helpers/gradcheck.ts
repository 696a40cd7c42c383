// Shared test helpers: a finite-difference gradient check in float64 and
// approximate comparisons of tensors against values computed in plain JS.
import assert from 'node:assert/strict';
import { torch } from '../../src/index.js';
import { seededRandom } from '../../src/serve/exact-norm-noise.js';

type Tensor = torch.Tensor;

export interface GradcheckOptions {
  /** Central-difference step (default 1e-6). */
  eps?: number;
  /** Relative tolerance (default 1e-6). */
  rtol?: number;
  /** Absolute tolerance (default 1e-8). */
  atol?: number;
  /** Check at most this many elements per input, chosen at random (default: all). */
  maxPerInput?: number;
  /** Seed of the random projection (default 1234). */
  seed?: number;
}

export interface GradcheckReport {
  /** How many (input, element) pairs were compared. */
  checked: number;
  /** The largest |numeric - analytic| seen. */
  maxAbsError: number;
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), independent of libtorch's generator. */
export const jsRandom = seededRandom;

/** A float64 tensor of the given shape filled from jsRandom, in [lo, hi). */
export function randomTensor(shape: number[], seed: number, lo = -1, hi = 1, requiresGrad = false): Tensor {
  const rnd = jsRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * rnd();
  return torch.fromTypedArray(data, shape, { requiresGrad });
}

/**
 * Compares autograd with central finite differences for `fn` at `inputs`
 * (float64 tensors; those with requiresGrad are checked). A fixed random
 * vector v projects the output to the scalar s = <fn(inputs), v>: the
 * analytic gradient is autograd.grad(s, inputs); the numeric one is
 * (s(x + eps e_i) - s(x - eps e_i)) / (2 eps) for each element i. Throws an
 * AssertionError naming the input and element that disagree.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): GradcheckReport {
  const eps = options.eps ?? 1e-6;
  const rtol = options.rtol ?? 1e-6;
  const atol = options.atol ?? 1e-8;
  const checkedInputs = inputs.map((t, i) => ({ t, i })).filter(({ t }) => t.requiresGrad);
  assert.ok(checkedInputs.length > 0, 'gradcheck: no input requires grad');
  for (const { t, i } of checkedInputs) assert.equal(t.dtype, 'float64', `gradcheck: input ${i} must be float64`);

  return torch.scope(() => {
    // The analytic side: one backward pass of the projected output.
    const out = fn(...inputs);
    assert.equal(out.dtype, 'float64', 'gradcheck: fn must return a float64 tensor');
    const projection = randomTensor(out.shape, options.seed ?? 1234);
    const s = out.mul(projection).sum();
    const grads = torch.autograd.grad(s, checkedInputs.map(({ t }) => t), { allowUnused: true });
    const analytic = grads.map((g, k) => (g === null ? new Float64Array(checkedInputs[k].t.numel()) : (g.dataSync() as Float64Array)));
    const proj = projection.dataSync() as Float64Array;

    // The numeric side: re-evaluate with perturbed copies of one input at a time.
    const project = (args: Tensor[]): number => torch.scope(() => {
      const y = torch.noGrad(() => fn(...args));
      assert.deepEqual(y.shape, out.shape, 'gradcheck: fn output shape changed under perturbation');
      const data = y.dataSync() as Float64Array;
      let acc = 0;
      for (let j = 0; j < data.length; j++) acc += data[j] * proj[j];
      return acc;
    });

    let checked = 0;
    let maxAbsError = 0;
    const rnd = jsRandom((options.seed ?? 1234) + 1);
    checkedInputs.forEach(({ t, i }, k) => {
      const base = t.dataSync() as Float64Array;
      const shape = t.shape;
      let elements = [...base.keys()];
      if (options.maxPerInput !== undefined && elements.length > options.maxPerInput) {
        for (let j = elements.length - 1; j > 0; j--) {
          const r = Math.floor(rnd() * (j + 1));
          [elements[j], elements[r]] = [elements[r], elements[j]];
        }
        elements = elements.slice(0, options.maxPerInput);
      }
      for (const e of elements) {
        const evalAt = (delta: number): number => torch.scope(() => {
          const data = Float64Array.from(base);
          data[e] += delta;
          const args = inputs.slice();
          args[i] = torch.fromTypedArray(data, shape);
          return project(args);
        });
        const numeric = (evalAt(eps) - evalAt(-eps)) / (2 * eps);
        const a = analytic[k][e];
        const err = Math.abs(numeric - a);
        maxAbsError = Math.max(maxAbsError, err);
        if (!(err <= atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)))) {
          assert.fail(`gradcheck: input ${i}, element ${e}: analytic ${a} vs numeric ${numeric} (|diff| ${err})`);
        }
        checked++;
      }
    });
    return { checked, maxAbsError };
  });
}

/** Asserts that the numbers agree elementwise within atol + rtol * |expected|. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: { atol?: number; rtol?: number } = {},
  message = ''): void {
  const atol = tol.atol ?? 1e-6;
  const rtol = tol.rtol ?? 1e-6;
  assert.equal(actual.length, expected.length, `${message} length ${actual.length} vs expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (e === a) continue; // covers equal infinities
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(`${message} element ${i}: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`);
    }
  }
}

/** Asserts a tensor's shape and values (flattened, row-major). */
export function assertTensor(t: Tensor, shape: number[], expected: ArrayLike<number>, tol: { atol?: number; rtol?: number } = {},
  message = ''): void {
  assert.deepEqual(t.shape, shape, `${message} shape`);
  assertClose(t.toFlatArray(), expected, tol, message);
}
