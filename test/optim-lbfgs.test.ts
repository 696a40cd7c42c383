// LBFGS against PyTorch 1.13's torch.optim.LBFGS (Debian's python3-torch),
// float64: Rosenbrock, a logistic regression (one parameter never gets a
// gradient) and a least-squares fit, with a fixed step and with the
// strong-Wolfe line search, histories shorter than the iterations, several
// step() calls; plus small problems chosen to reach the line search's rarer
// branches (a wavy function, a kink, an unbounded linear function that
// exhausts the line search and gives pairs without curvature). Per step: the
// parameters, the returned loss, func_evals, n_iter and how often the closure
// ran; at the end the whole state. Also PyTorch-saved state dicts resume here
// and ours resume in PyTorch, state round trips, option and closure errors,
// and memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { LBFGS, LBFGSOptions, OptimizerStateDict, StateValue } from '../src/optim/index.js';
import { Tensor, assertClose, disposeAll, numbers, pytorchReference, values } from './optim-helpers.js';

// ---- the problems (the Python below applies the same operations in the same order) ----

type ProblemName = 'rosenbrock' | 'logistic' | 'leastsq' | 'wave' | 'abs' | 'linear';

const data = {
  X: numbers(12 * 3, 11, -2, 2),
  S: numbers(12, 13).map((v) => (v < 0 ? -1 : 1)),
  A: numbers(8 * 3, 21, -1, 1),
  B: numbers(8 * 2, 22, -1, 1),
};

const starts: Record<ProblemName, { init: number[][]; shapes: number[][] }> = {
  rosenbrock: { init: [[-1.5, 2]], shapes: [[2]] },
  // w, b, and a parameter the loss never uses (its gradient stays None: zeros in the flat vector).
  logistic: { init: [numbers(3, 31, -1, 1), [0.1], [0.5, -0.5]], shapes: [[3], [1], [2]] },
  leastsq: { init: [numbers(6, 41, -1, 1), numbers(2, 42, -1, 1)], shapes: [[3, 2], [2]] },
  wave: { init: [[0.4, -1.3, 2.2]], shapes: [[3]] },
  abs: { init: [[1, 1, -1]], shapes: [[3]] },
  linear: { init: [[0.5, -0.5]], shapes: [[2]] },
};

const f64 = (v: number[], shape: number[]): Tensor => torch.fromTypedArray(new Float64Array(v), shape);

function lossOf(name: ProblemName, p: Tensor[]): Tensor {
  if (name === 'rosenbrock') {
    const [a, b] = [p[0].narrow(0, 0, 1), p[0].narrow(0, 1, 1)];
    return a.neg().add(1).square().add(b.sub(a.square()).square().mul(100)).sum();
  }
  if (name === 'logistic') {
    const z = f64(data.X, [12, 3]).matmul(p[0]).add(p[1]);
    return z.mul(f64(data.S, [12])).neg().exp().log1p().mean().add(p[0].square().sum().mul(0.01));
  }
  if (name === 'leastsq') return f64(data.A, [8, 3]).matmul(p[0]).add(p[1]).sub(f64(data.B, [8, 2])).square().mean();
  if (name === 'wave') return p[0].mul(3).sin().sum().add(p[0].square().sum().mul(0.05));
  if (name === 'abs') return p[0].sub(f64([0.3, -0.2, 0.5], [3])).abs().sum();
  return p[0].mul(f64([1, -2], [2])).sum();
}

const makeParams = (name: ProblemName, init = starts[name].init): Tensor[] =>
  torch.keep(init.map((v, i) => torch.fromTypedArray(new Float64Array(v), starts[name].shapes[i], { requiresGrad: true })));

/** The usual closure: zero the gradients, forward, backward, return the loss; counts its calls. */
function closureFor(name: ProblemName, opt: LBFGS, params: Tensor[], counter = { calls: 0 }, asNumber = false): () => Tensor | number {
  return () => {
    counter.calls += 1;
    assert.ok(torch.isGradEnabled(), 'the closure runs with grad enabled');
    opt.zeroGrad();
    const loss = lossOf(name, params);
    loss.backward();
    return asNumber ? loss.item() : loss;
  };
}

interface Case { problem: ProblemName; options: LBFGSOptions; steps: number }

// Together these reach every branch of PyTorch's step and line search but one (the zoom's safeguard moving a
// trial to a tenth below the upper end, the mirror of the one 'logistic lr 1000' and 'wave' reach).
const cases: Case[] = [
  { problem: 'rosenbrock', options: {}, steps: 4 },
  // Converges on the third step; the last two steps stop on the loss change and the tiny gradient.
  { problem: 'rosenbrock', options: { lineSearchFn: 'strong_wolfe', historySize: 3, maxIter: 15 }, steps: 5 },
  { problem: 'rosenbrock', options: { lr: 0.5, historySize: 4, maxIter: 10 }, steps: 4 },
  // Zoom: cubic steps from either end of the bracket, the old low end becoming the high end.
  { problem: 'rosenbrock', options: { lineSearchFn: 'strong_wolfe', lr: 5, historySize: 3, maxIter: 10 }, steps: 3 },
  { problem: 'logistic', options: { lr: 0.8, historySize: 2, maxIter: 6 }, steps: 4 },
  { problem: 'logistic', options: { lineSearchFn: 'strong_wolfe', historySize: 3, maxIter: 10, maxEval: 12 }, steps: 3 },
  // Zoom: trials too close to the bracket's ends are moved inside.
  { problem: 'logistic', options: { lineSearchFn: 'strong_wolfe', lr: 1000, historySize: 3, maxIter: 10 }, steps: 3 },
  // Stops on the gradient tolerance, then later steps return at once.
  { problem: 'leastsq', options: { lineSearchFn: 'strong_wolfe', lr: 20, historySize: 3 }, steps: 3 },
  { problem: 'leastsq', options: { lr: 0.5, historySize: 4, maxIter: 5, toleranceChange: 1e-12, toleranceGrad: 1e-9 }, steps: 5 },
  { problem: 'wave', options: { lineSearchFn: 'strong_wolfe', lr: 250, historySize: 5, maxIter: 10 }, steps: 3 },
  // The bracket shrinks around the kink below the tolerance; the step becomes negligible.
  { problem: 'abs', options: { lineSearchFn: 'strong_wolfe', lr: 0.3, historySize: 3, maxIter: 10 }, steps: 3 },
  // Unbounded below: 25 extrapolations without a bracket, then y = 0 (no curvature: the pair is not kept).
  // A float lr: from an integer one PyTorch's trials here would grow as Python ints beyond 2^53, exact where doubles round.
  { problem: 'linear', options: { lineSearchFn: 'strong_wolfe', lr: 0.5, maxIter: 1 }, steps: 2 },
];

const snake = (o: LBFGSOptions): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));

const script = String.raw`
import json, sys, torch
torch.set_default_dtype(torch.float64)
inp = json.load(sys.stdin)
D = inp['data']
X = torch.tensor(D['X']).reshape(12, 3)
S = torch.tensor(D['S']).reshape(12)
A = torch.tensor(D['A']).reshape(8, 3)
B = torch.tensor(D['B']).reshape(8, 2)
def loss_of(name, p):
    if name == 'rosenbrock':
        a, b = p[0].narrow(0, 0, 1), p[0].narrow(0, 1, 1)
        return a.neg().add(1).square().add(b.sub(a.square()).square().mul(100)).sum()
    if name == 'logistic':
        z = X.matmul(p[0]).add(p[1])
        return z.mul(S).neg().exp().log1p().mean().add(p[0].square().sum().mul(0.01))
    if name == 'leastsq':
        return A.matmul(p[0]).add(p[1]).sub(B).square().mean()
    if name == 'wave':
        return p[0].mul(3).sin().sum().add(p[0].square().sum().mul(0.05))
    if name == 'abs':
        return p[0].sub(torch.tensor([0.3, -0.2, 0.5])).abs().sum()
    return p[0].mul(torch.tensor([1.0, -2.0])).sum()
def make(c, init=None):
    st = inp['starts'][c['problem']]
    return [torch.tensor(v, dtype=torch.float64).reshape(s).requires_grad_() for v, s in zip(init or st['init'], st['shapes'])]
def num(v):
    return None if v is None else float(v)
def run(c, params, opt, steps):
    calls = [0]
    def closure():
        calls[0] += 1
        opt.zero_grad(set_to_none=True)
        loss = loss_of(c['problem'], params)
        loss.backward()
        return loss
    rows = []
    for _ in range(steps):
        before = calls[0]
        loss = opt.step(closure)
        st = opt.state[params[0]]
        rows.append({'loss': float(loss), 'params': [p.detach().flatten().tolist() for p in params],
                     'func_evals': st['func_evals'], 'n_iter': st['n_iter'], 'calls': calls[0] - before})
    return rows
def final_state(opt, params):
    st = opt.state[params[0]]
    return {'keys': sorted(st.keys()), 't': num(st['t']), 'H_diag': num(st['H_diag']), 'prev_loss': num(st['prev_loss']),
            'ro': [float(r) for r in st['ro']], 'old_dirs': [y.tolist() for y in st['old_dirs']],
            'old_stps': [s.tolist() for s in st['old_stps']], 'd': st['d'].tolist(), 'prev_flat_grad': st['prev_flat_grad'].tolist(),
            'al': [num(a) for a in st['al']] if 'al' in st else None}
out = {'cases': [], 'resume': [], 'groups': []}
for c in inp['cases']:
    params = make(c)
    opt = torch.optim.LBFGS(params, **c['options'])
    rows = run(c, params, opt, c['steps'])
    out['cases'].append({'rows': rows, 'state': final_state(opt, params)})
    out['groups'].append({k: v for k, v in opt.state_dict()['param_groups'][0].items()})
for r in inp['resume']:
    c = r['case']
    params = make(c)
    opt = torch.optim.LBFGS(params, **c['options'])
    run(c, params, opt, r['before'])
    torch.save(opt.state_dict(), r['path'])
    mid = [p.detach().flatten().tolist() for p in params]
    out['resume'].append({'mid': mid, 'rows': run(c, params, opt, r['after'])})
print(json.dumps(out))
`;

/** Our state dict resumed in PyTorch: load the .pt we wrote into torch.optim.LBFGS and continue. */
const resumeInTorchScript = script.replace(/^out = \{[\s\S]*$/m, String.raw`
c = inp['case']
params = make(c, inp['mid'])
opt = torch.optim.LBFGS(params, **c['options'])
opt.load_state_dict(torch.load(inp['path']))
print(json.dumps({'rows': run(c, params, opt, inp['after'])}))
`);

const dir = mkdtempSync(join(tmpdir(), 'optim-lbfgs-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const resumeCases = [1, 4, 5].map((k, i) => ({ case: cases[k], before: 1, after: 2, path: join(dir, `torch-${i}.pt`) }));
const toPython = (c: Case) => ({ problem: c.problem, options: snake(c.options), steps: c.steps });

interface Row { loss: number; params: number[][]; func_evals: number; n_iter: number; calls: number }
interface FinalState {
  keys: string[]; t: number; H_diag: number; prev_loss: number; ro: number[]; old_dirs: number[][]; old_stps: number[][];
  d: number[]; prev_flat_grad: number[]; al: (number | null)[] | null;
}
const reference = pytorchReference<{ cases: { rows: Row[]; state: FinalState }[]; resume: { mid: number[][]; rows: Row[] }[]; groups: Record<string, unknown>[] }>(
  script, {
    data, starts, cases: cases.map(toPython),
    resume: resumeCases.map((r) => ({ ...r, case: toPython(r.case) })),
  });

const label = (c: Case) => `${c.problem} ${JSON.stringify(c.options)}`;
const TOL = 1e-10;

function assertNear(actual: number, expected: number, message: string): void {
  assert.ok(Math.abs(actual - expected) <= TOL * Math.max(1, Math.abs(expected)), `${message}: ${actual}, expected ${expected}`);
}

/** Runs step() `steps` times and records what PyTorch's script records. */
function runSteps(c: Case, opt: LBFGS, params: Tensor[], steps: number, asNumber = false): Row[] {
  const counter = { calls: 0 };
  const closure = closureFor(c.problem, opt, params, counter, asNumber);
  const rows: Row[] = [];
  for (let s = 0; s < steps; s++) {
    const before = counter.calls;
    const loss = torch.scope(() => {
      const l = opt.step(closure);
      return typeof l === 'number' ? l : l.item();
    });
    const st = opt.stateDict().state.get(0)!;
    rows.push({ loss, params: values(params), func_evals: st.func_evals as number, n_iter: st.n_iter as number, calls: counter.calls - before });
  }
  return rows;
}

function assertRows(rows: Row[], expected: Row[], message: string): void {
  assert.equal(rows.length, expected.length);
  rows.forEach((row, s) => {
    const at = `${message} step ${s + 1}`;
    assertClose(row.params, expected[s].params, TOL, at);
    assertNear(row.loss, expected[s].loss, `${at} returned loss`);
    assert.deepEqual([row.calls, row.func_evals, row.n_iter], [expected[s].calls, expected[s].func_evals, expected[s].n_iter],
      `${at}: closure calls, func_evals, n_iter`);
  });
}

const flatValues = (v: StateValue): number[] => (v as Tensor).toFlatArray();

cases.forEach((c, k) => {
  test(`LBFGS ${label(c)}: parameters, losses, closure calls and state match PyTorch 1.13 (float64)`, { skip: reference.skip }, () => {
    const params = makeParams(c.problem);
    const opt = new LBFGS(params, c.options);
    const want = reference.value!.cases[k];
    assertRows(runSteps(c, opt, params, c.steps), want.rows, label(c));

    const st = opt.stateDict().state.get(0)!;
    assert.deepEqual(Object.keys(st).sort(), want.state.keys, 'state keys');
    assertNear(st.t as number, want.state.t, 't');
    assertNear(st.H_diag as number, want.state.H_diag, 'H_diag');
    assertNear(st.prev_loss as number, want.state.prev_loss, 'prev_loss');
    assertClose([st.ro as number[]], [want.state.ro], TOL, 'ro');
    assertClose((st.old_dirs as Tensor[]).map((y) => y.toFlatArray()), want.state.old_dirs, TOL, 'old_dirs');
    assertClose((st.old_stps as Tensor[]).map((s) => s.toFlatArray()), want.state.old_stps, TOL, 'old_stps');
    assertClose([flatValues(st.d), flatValues(st.prev_flat_grad)], [want.state.d, want.state.prev_flat_grad], TOL, 'd, prev_flat_grad');
    if (want.state.al !== null) {
      const al = st.al as (number | null)[];
      assert.equal(al.length, want.state.al.length, 'al length');
      al.forEach((a, i) => (want.state.al![i] === null ? assert.equal(a, null) : assertNear(a!, want.state.al![i]!, `al[${i}]`)));
    }
    const { params: ids, ...group } = opt.stateDict().param_groups[0];
    const { params: wantIds, ...wantGroup } = reference.value!.groups[k];
    assert.deepEqual(ids, wantIds);
    assert.deepEqual(group, wantGroup, 'param_groups[0] as PyTorch (defaults included)');
    opt.dispose();
    disposeAll(params);
  });
});

test('LBFGS: a closure that returns a number gives the same run; step returns the first loss', { skip: reference.skip }, () => {
  const c = cases[1];
  const params = makeParams(c.problem);
  const opt = new LBFGS(params, c.options);
  assertRows(runSteps(c, opt, params, c.steps, true), reference.value!.cases[1].rows, `${label(c)} (number losses)`);
  opt.dispose();
  disposeAll(params);
});

resumeCases.forEach((r, k) => {
  test(`LBFGS ${label(r.case)}: a state dict saved by PyTorch (.pt) resumes identically`, { skip: reference.skip }, () => {
    const { mid, rows: expected } = reference.value!.resume[k];
    const params = makeParams(r.case.problem, mid);
    const opt = new LBFGS(params, r.case.options);
    torch.scope(() => opt.loadStateDict(torch.load(r.path) as Map<string, unknown>));
    assertRows(runSteps(r.case, opt, params, r.after), expected, `${label(r.case)} resumed`);
    opt.dispose();
    disposeAll(params);
  });
});

test('LBFGS: our state dict (.pt) resumes identically in PyTorch', { skip: reference.skip }, () => {
  const c = cases[5]; // logistic, strong Wolfe, history 3
  const params = makeParams(c.problem);
  const opt = new LBFGS(params, c.options);
  runSteps(c, opt, params, 1);
  const path = join(dir, 'ours.pt');
  torch.save(opt.stateDict() as unknown as torch.Saveable, path);
  const mid = values(params);
  const ours = runSteps(c, opt, params, 2);
  const theirs = pytorchReference<{ rows: Row[] }>(resumeInTorchScript, { data, starts, case: toPython(c), mid, path, after: 2 });
  // func_evals and n_iter count from the start in both.
  assertRows(ours, theirs.value!.rows, 'resumed in PyTorch');
  opt.dispose();
  disposeAll(params);
});

// ---- without PyTorch ----

const copyOf = (params: Tensor[]): Tensor[] => torch.keep(params.map((p) => torch.noGrad(() => p.clone()).requiresGrad_(true)));

function runPlain(name: ProblemName, opt: LBFGS, params: Tensor[], steps: number): void {
  const closure = closureFor(name, opt, params);
  for (let s = 0; s < steps; s++) torch.scope(() => { opt.step(closure); });
}

for (const [name, options] of [
  ['rosenbrock', { lineSearchFn: 'strong_wolfe', historySize: 3, maxIter: 6 }],
  ['logistic', { lr: 0.8, historySize: 2, maxIter: 4 }],
] as [ProblemName, LBFGSOptions][]) {
  test(`LBFGS ${name} ${JSON.stringify(options)}: a fresh optimizer that loads the state dict (object or .pt) continues identically`, () => {
    const a = makeParams(name);
    const optA = new LBFGS(a, options);
    runPlain(name, optA, a, 2);
    const b = copyOf(a);
    const optB = new LBFGS(b, options);
    optB.loadStateDict(optA.stateDict());
    const path = join(dir, `roundtrip-${name}.pt`);
    torch.save(optA.stateDict() as unknown as torch.Saveable, path);
    const c = copyOf(a);
    const optC = new LBFGS(c, options);
    torch.scope(() => optC.loadStateDict(torch.load(path) as Map<string, unknown>));
    runPlain(name, optA, a, 3);
    runPlain(name, optB, b, 3);
    runPlain(name, optC, c, 3);
    assert.deepEqual(values(b), values(a), 'loaded from the state dict');
    assert.deepEqual(values(c), values(a), 'loaded from the .pt file');
    const [sa, sb, sc] = [optA, optB, optC].map((o) => o.stateDict().state.get(0)!);
    for (const s of [sb, sc]) {
      assert.deepEqual([s.func_evals, s.n_iter, s.t, s.H_diag, s.prev_loss, s.ro], [sa.func_evals, sa.n_iter, sa.t, sa.H_diag, sa.prev_loss, sa.ro]);
      assert.deepEqual(flatValues(s.d), flatValues(sa.d));
    }
    for (const o of [optA, optB, optC]) o.dispose();
    disposeAll([...a, ...b, ...c]);
  });
}

/** The tensors in an LBFGS state dict, lists included. */
function stateTensors(sd: OptimizerStateDict): number {
  const count = (v: StateValue): number => (v instanceof torch.Tensor ? 1 : Array.isArray(v) ? v.reduce((n: number, x) => n + count(x), 0) : 0);
  return [...sd.state.values()].reduce((n, s) => n + Object.values(s).reduce((m: number, v) => m + count(v), 0), 0);
}

for (const options of [{ lineSearchFn: 'strong_wolfe', historySize: 2, maxIter: 8 }, { lr: 0.3, historySize: 2, maxIter: 8 }] as LBFGSOptions[]) {
  test(`LBFGS ${JSON.stringify(options)}: steps leave the live tensor count unchanged; dispose() frees the state`, () => {
    const params = makeParams('logistic');
    const opt = new LBFGS(params, options);
    runPlain('logistic', opt, params, 1); // fills the history (2 pairs)
    const live = torch.memoryStats().liveTensors;
    const closure = closureFor('logistic', opt, params);
    for (let s = 0; s < 10; s++) {
      if (s % 2 === 0) (opt.step(closure) as Tensor).dispose(); // the returned loss is the caller's
      else torch.scope(() => { opt.step(closure); });
      if (s % 3 === 0) opt.stateDict();
    }
    assert.equal(torch.memoryStats().liveTensors, live);
    const held = stateTensors(opt.stateDict());
    assert.equal(held, 6, 'd, prev_flat_grad, two old_dirs, two old_stps');
    opt.dispose();
    assert.equal(torch.memoryStats().liveTensors, live - held);
    assert.throws(() => opt.step(closure), /has been disposed/);
    disposeAll(params);
  });
}

test('LBFGS: a closure that throws leaves a usable optimizer and no stray tensors', () => {
  const params = makeParams('rosenbrock');
  const opt = new LBFGS(params, { lineSearchFn: 'strong_wolfe', historySize: 2 });
  runPlain('rosenbrock', opt, params, 1);
  const live = torch.memoryStats().liveTensors;
  const good = closureFor('rosenbrock', opt, params);
  let calls = 0;
  assert.throws(() => opt.step(() => {
    calls += 1;
    if (calls === 3) throw new Error('boom');
    return good();
  }), /boom/);
  assert.equal(torch.memoryStats().liveTensors, live);
  torch.scope(() => { opt.step(good); });
  assert.equal(torch.memoryStats().liveTensors, live);
  opt.dispose();
  disposeAll(params);
});

test('LBFGS: float32 parameters run (scalars in double precision) and reduce the loss', () => {
  const p = torch.keep([torch.tensor([-1.5, 2], { dtype: 'float32', requiresGrad: true })]);
  const opt = new LBFGS(p, { lineSearchFn: 'strong_wolfe' });
  const closure = closureFor('rosenbrock', opt, p);
  const first = torch.scope(() => (opt.step(closure) as Tensor).item());
  for (let s = 0; s < 3; s++) torch.scope(() => { opt.step(closure); });
  const last = torch.scope(() => lossOf('rosenbrock', p).item());
  assert.ok(last < first * 1e-3, `loss ${first} -> ${last}`);
  const st = opt.stateDict().state.get(0)!;
  assert.equal((st.d as Tensor).dtype, 'float32');
  opt.dispose();
  disposeAll(p);
});

test('LBFGS: defaults as PyTorch 1.13 (maxEval = floor(maxIter * 5 / 4))', () => {
  const p = torch.keep(torch.zeros([2], { requiresGrad: true }));
  const groupOf = (o: LBFGSOptions) => {
    const opt = new LBFGS([p], o);
    const { params, ...group } = opt.stateDict().param_groups[0];
    assert.deepEqual(params, [0]);
    opt.dispose();
    return group;
  };
  assert.deepEqual(groupOf({}), {
    lr: 1, max_iter: 20, max_eval: 25, tolerance_grad: 1e-7, tolerance_change: 1e-9, history_size: 100, line_search_fn: null,
  });
  assert.equal(groupOf({ maxIter: 7 }).max_eval, 8);
  assert.equal(groupOf({ maxIter: 7, maxEval: 3 }).max_eval, 3);
  assert.equal(groupOf({ lineSearchFn: 'strong_wolfe' }).line_search_fn, 'strong_wolfe');
  p.dispose();
});

test('LBFGS: closure, parameter group and option errors name the problem', () => {
  const p = torch.keep(torch.zeros([2], { requiresGrad: true }));
  const q = torch.keep(torch.zeros([1], { requiresGrad: true }));
  const opt = new LBFGS([p]);
  const noClosure = opt as unknown as { step(closure?: unknown): unknown };
  assert.throws(() => noClosure.step(), (e: Error) => e instanceof TypeError && /LBFGS\.step needs a closure/.test(e.message));
  assert.throws(() => noClosure.step(42), /LBFGS\.step needs a closure/);
  const make = (value: unknown) => () => {
    opt.zeroGrad();
    torch.scope(() => p.square().sum().backward());
    return value;
  };
  assert.throws(() => noClosure.step(make('1.5')), /closure must return the loss as a one-element Tensor or a number, got a string/);
  assert.throws(() => torch.scope(() => noClosure.step(make(torch.zeros([3])))), /got a tensor of shape \[3\]/);
  assert.throws(() => new LBFGS([{ params: [p] }, { params: [q], lr: 0.1 }]),
    (e: Error) => e instanceof TypeError && /LBFGS doesn't support per-parameter options \(parameter groups\)/.test(e.message));
  assert.throws(() => opt.addParamGroup({ params: [q] }), /doesn't support per-parameter options/);
  assert.doesNotThrow(() => new LBFGS([{ params: [q], lr: 0.5 }]).dispose());

  const bad: [LBFGSOptions, RegExp][] = [
    [{ lr: -1 }, /LBFGS: invalid learning rate -1/],
    [{ maxIter: 0 }, /LBFGS: invalid maxIter 0: expected an integer >= 1/],
    [{ maxIter: 2.5 }, /LBFGS: invalid maxIter 2\.5/],
    [{ maxEval: 0 }, /LBFGS: invalid maxEval 0/],
    [{ historySize: 0 }, /LBFGS: invalid historySize 0/],
    [{ toleranceGrad: -1 }, /LBFGS: invalid toleranceGrad value -1/],
    [{ toleranceChange: Number.NaN }, /LBFGS: invalid toleranceChange value NaN/],
    [{ lineSearchFn: 'wolfe' as 'strong_wolfe' }, /LBFGS: invalid lineSearchFn "wolfe": expected null or 'strong_wolfe'/],
  ];
  for (const [options, message] of bad) assert.throws(() => new LBFGS([p], options), (e: Error) => e instanceof RangeError && message.test(e.message));
  opt.dispose();
  disposeAll([p, q]);
});

test('LBFGS.loadStateDict checks the flat buffers and the history, and changes nothing on error', () => {
  const params = makeParams('logistic');
  const opt = new LBFGS(params, { historySize: 2, maxIter: 4 });
  runPlain('logistic', opt, params, 1);
  const sd = opt.stateDict();
  const entry = sd.state.get(0)!;
  const other = makeParams('logistic');
  const target = new LBFGS(other, { historySize: 2, maxIter: 4 });
  const live = torch.memoryStats().liveTensors;
  const withEntry = (change: Record<string, StateValue | undefined>): OptimizerStateDict => {
    const e = { ...entry, ...change };
    for (const k of Object.keys(change)) if (change[k] === undefined) delete e[k];
    return { ...sd, state: new Map([[0, e as Record<string, StateValue>]]) };
  };
  torch.scope(() => {
    const short = torch.zeros([5], { dtype: 'float64' });
    assert.throws(() => target.loadStateDict(withEntry({ d: short })), /'d' has shape \[5\] but the parameters have 6 elements in all \(expected \[6\]\)/);
    assert.throws(() => target.loadStateDict(withEntry({ old_dirs: [short] })), /'old_dirs\[0\]' has shape \[5\]/);
    assert.throws(() => target.loadStateDict(withEntry({ ro: [1] })), /'old_dirs', 'old_stps' and 'ro' must have the same length/);
    assert.throws(() => target.loadStateDict(withEntry({ d: undefined })), /after 4 iterations the L-BFGS state needs 'd'/);
    assert.throws(() => target.loadStateDict(withEntry({ ro: 3 })), /'ro' is not a list/);
    assert.throws(() => target.loadStateDict(withEntry({ t: short })), /'t' is not a number/);
  });
  assert.equal(torch.memoryStats().liveTensors, live, 'failed loads free what they copied');
  assert.equal(target.stateDict().state.size, 0, 'the target still has no state');
  for (const o of [opt, target]) o.dispose();
  disposeAll([...params, ...other]);
});
