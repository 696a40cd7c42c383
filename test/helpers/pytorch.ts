// Reference values from PyTorch itself: runs a Python snippet under Debian's
// python3-torch (/usr/bin/python3; CI installs it) with JSON in and out.
// Tensors travel as { shape, dtype, values } with non-finite values as the
// strings 'nan', 'inf', '-inf' (JSON has no such numbers); doubles round-trip
// exactly through JSON, so float64 comparisons can be tight.
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { torch } from '../../src/index.js';
import { assertClose } from './gradcheck.js';

type Tensor = torch.Tensor;

export const PYTHON = '/usr/bin/python3';
export const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
/** For `test(name, { skip }, …)`: false when PyTorch is available, else the reason. */
export const skipWithoutTorch: string | false = hasTorch ? false : 'Debian python3-torch (/usr/bin/python3) is not installed';

export interface Described { shape: number[]; dtype: string; values: (number | string)[] }

const encode = (v: number): number | string => (Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
const decode = (v: number | string): number => (typeof v === 'number' ? v : v === 'nan' ? NaN : v === 'inf' ? Infinity : -Infinity);

/** A tensor as JSON for Python's T(). */
export function describe(t: Tensor): Described {
  return { shape: t.shape, dtype: t.dtype, values: t.toFlatArray().map(encode) };
}

/** The values of a tensor Python sent back with J(). */
export const valuesOf = (d: Described): number[] => d.values.map(decode);

/** Asserts that `t` has the shape and (within tol) the values of PyTorch's `want`. */
export function assertMatchesTorch(t: Tensor, want: Described, tol: { atol?: number; rtol?: number } = { atol: 1e-10, rtol: 1e-10 }, message = ''): void {
  assert.deepEqual(t.shape, want.shape, `${message} shape`);
  assertClose(t.toFlatArray(), valuesOf(want), tol, message);
}

const PRELUDE = `
import json, math, sys
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
inp = json.load(sys.stdin)
DT = {'float64': torch.float64, 'float32': torch.float32, 'int64': torch.int64, 'int32': torch.int32, 'bool': torch.bool, 'uint8': torch.uint8}
def T(d, grad=False):
    vals = [float(v) if isinstance(v, str) else v for v in d['values']]
    t = torch.tensor(vals, dtype=DT[d['dtype']]).reshape(d['shape'])
    return t.requires_grad_(True) if grad else t
def enc(v):
    v = float(v)
    return v if math.isfinite(v) else ('nan' if math.isnan(v) else ('inf' if v > 0 else '-inf'))
def J(t):
    t = t.detach()
    return {'shape': list(t.shape), 'dtype': str(t.dtype).replace('torch.', ''), 'values': [enc(v) for v in t.flatten().tolist()]}
out = {}
`;

/** Runs `body` (Python; reads `inp`, fills the dict `out`) and returns `out`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function runTorch(body: string, input: unknown): any {
  const r = spawnSync(PYTHON, ['-c', `${PRELUDE}\n${body}\nprint(json.dumps(out))`], {
    input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  if (r.status !== 0) throw new Error(`python3 failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** One training or evaluation step: forward x, backward of sum(y · proj). */
export interface ModuleStep { x: Tensor; proj: Tensor; train: boolean }

/** Python for run_steps(module, spec): the same steps as runModuleSteps, after loading our initial state dict strictly. */
export const RUN_STEPS_PY = `
def run_steps(m, spec):
    m.load_state_dict({k: T(v) for k, v in spec['state'].items()}, strict=True)
    res = []
    for st in spec['steps']:
        m.train(st['train'])
        for p in m.parameters(): p.grad = None
        x = T(st['x'], True)
        y = m(x)
        (y * T(st['proj'])).sum().backward()
        res.append({'y': J(y), 'xGrad': J(x.grad), 'grads': {k: J(p.grad) for k, p in m.named_parameters()}})
    return {'steps': res, 'state': {k: J(v) for k, v in m.state_dict().items()}}
`;

/** The JSON that run_steps reads: our initial state dict and the steps. */
export function stepsSpec(m: { stateDict(): Map<string, Tensor> }, steps: ModuleStep[]): unknown {
  return torch.scope(() => ({
    state: Object.fromEntries([...m.stateDict()].map(([k, v]) => [k, describe(v)])),
    steps: steps.map((s) => ({ x: describe(s.x), proj: describe(s.proj), train: s.train })),
  }));
}

interface TorchSteps { steps: { y: Described; xGrad: Described; grads: Record<string, Described> }[]; state: Record<string, Described> }

/**
 * Runs the steps on our module and asserts outputs, input gradients,
 * parameter gradients (same names) and the final state dict (same names,
 * running statistics included) against PyTorch's run_steps result.
 */
export function assertStepsMatch(m: {
  train(mode: boolean): unknown; forward(x: Tensor): unknown; namedParameters(): Iterable<[string, Tensor]>; stateDict(): Map<string, Tensor>;
}, steps: ModuleStep[], want: TorchSteps, tol = { atol: 1e-10, rtol: 1e-10 }, label = ''): void {
  steps.forEach((s, i) => torch.scope(() => {
    m.train(s.train);
    const params = [...m.namedParameters()];
    for (const [, p] of params) p.grad = null;
    const x = s.x.detach().requiresGrad_(true);
    const y = m.forward(x) as Tensor;
    y.mul(s.proj).sum().backward();
    const w = want.steps[i];
    assertMatchesTorch(y, w.y, tol, `${label} step ${i} output`);
    assertMatchesTorch(x.grad!, w.xGrad, tol, `${label} step ${i} input grad`);
    assert.deepEqual(params.map(([k]) => k), Object.keys(w.grads), `${label} parameter names`);
    for (const [k, p] of params) assertMatchesTorch(p.grad!, w.grads[k], tol, `${label} step ${i} grad of ${k}`);
  }));
  torch.scope(() => {
    const state = m.stateDict();
    assert.deepEqual([...state.keys()], Object.keys(want.state), `${label} state dict names`);
    for (const [k, v] of state) {
      assert.equal(v.dtype, want.state[k].dtype, `${label} ${k} dtype`);
      assertMatchesTorch(v, want.state[k], tol, `${label} state ${k}`);
    }
  });
}
