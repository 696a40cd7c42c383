// RMSprop, Adagrad, Adamax, NAdam, RAdam, Adadelta (and SGD, Adam, AdamW)
// against PyTorch 1.13's torch.optim, run through Debian's python3-torch in
// one batch: the whole float64 parameter trajectory on the quadratic problem
// of optim-helpers, to 1e-12. Skipped with the reason when /usr/bin/python3
// has no torch. Also: PyTorch-saved state dicts (.pt) resume identically,
// RAdam's decoupled weight decay (PyTorch 2 only) against a JS transcription,
// and option errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { Adadelta, Adagrad, Adam, AdamW, Adamax, NAdam, Optimizer, RAdam, RMSprop, SGD } from '../src/optim/index.js';
import { Tensor, assertClose, backward, disposeAll, jsGrad, makeParams, problem, pytorchReference, values } from './optim-helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Options = Record<string, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const kinds: Record<string, new (params: any, options?: any) => Optimizer> = { RMSprop, Adagrad, Adamax, NAdam, RAdam, Adadelta, SGD, Adam, AdamW };

interface Case {
  kind: string;
  options: Options;
  /** A second parameter group's overrides (the first group takes the defaults). */
  group1?: Options;
  steps?: number;
}

const cases: Case[] = [
  { kind: 'RMSprop', options: {} },
  { kind: 'RMSprop', options: { lr: 0.05, alpha: 0.9, weightDecay: 0.1, momentum: 0.8 } },
  { kind: 'RMSprop', options: { lr: 0.03, centered: true, momentum: 0.5, eps: 1e-4, maximize: true } },
  { kind: 'RMSprop', options: { lr: 0.02, centered: true }, group1: { lr: 0.1, weightDecay: 0.2, alpha: 0.5 } },
  { kind: 'Adagrad', options: {} },
  { kind: 'Adagrad', options: { lr: 0.3, lrDecay: 0.1, weightDecay: 0.05, initialAccumulatorValue: 0.5, eps: 1e-6 } },
  { kind: 'Adagrad', options: { lr: 0.2, maximize: true }, group1: { lr: 0.05, lrDecay: 0.5 } },
  { kind: 'Adamax', options: {} },
  { kind: 'Adamax', options: { lr: 0.1, betas: [0.8, 0.95], weightDecay: 0.1, eps: 1e-3 } },
  { kind: 'Adamax', options: { lr: 0.05, maximize: true }, group1: { betas: [0.5, 0.6] } },
  { kind: 'NAdam', options: {} },
  { kind: 'NAdam', options: { lr: 0.05, betas: [0.8, 0.9], weightDecay: 0.1, momentumDecay: 0.05 } },
  { kind: 'NAdam', options: { lr: 0.01 }, group1: { lr: 0.1, momentumDecay: 0, eps: 1e-3 } },
  { kind: 'RAdam', options: {}, steps: 12 },
  // beta2 0.9: rho_t passes 5 at step 6, so both branches run.
  { kind: 'RAdam', options: { lr: 0.05, betas: [0.8, 0.9], weightDecay: 0.1 }, steps: 12 },
  { kind: 'RAdam', options: { lr: 0.1, betas: [0.5, 0.6] }, group1: { lr: 0.01, weightDecay: 0.3 }, steps: 12 },
  { kind: 'Adadelta', options: {} },
  { kind: 'Adadelta', options: { lr: 0.5, rho: 0.5, eps: 1e-3, weightDecay: 0.1 } },
  { kind: 'Adadelta', options: { maximize: true }, group1: { lr: 2, rho: 0.95 } },
  { kind: 'SGD', options: { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 } },
  { kind: 'SGD', options: { lr: 0.05, momentum: 0.9, nesterov: true, maximize: true } },
  { kind: 'Adam', options: { lr: 0.1, betas: [0.8, 0.9], weightDecay: 0.05, amsgrad: true } },
  { kind: 'AdamW', options: { lr: 0.1, weightDecay: 0.3 } },
];

const snake = (o: Options): Options => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
const label = (c: Case) => `${c.kind} ${JSON.stringify(c.options)}${c.group1 ? ` + group ${JSON.stringify(c.group1)}` : ''}`;

const pb = problem();
const STEPS = 8;

const script = String.raw`
import json, sys, torch
torch.set_default_dtype(torch.float64)  # NAdam's mu_product and the step counts are default-dtype tensors
data = json.load(sys.stdin)
pb = data['problem']
def loss(params):
    return sum((0.5 * torch.tensor(a).reshape(s) * (p - torch.tensor(c).reshape(s)) ** 2).sum()
               for p, a, c, s in zip(params, pb['a'], pb['c'], pb['shapes']))
def build(c, params):
    groups = [{'params': [params[0]]}, dict({'params': [params[1]]}, **c['group1'])] if c.get('group1') else params
    return getattr(torch.optim, c['kind'])(groups, **c['options'])
def run(c, steps, params, opt):
    rows = []
    for _ in range(steps):
        opt.zero_grad()
        loss(params).backward()
        opt.step()
        rows.append([p.detach().flatten().tolist() for p in params])
    return rows
out = {'trajectories': [], 'resume': []}
for c in data['cases']:
    params = [torch.tensor(w).reshape(s).requires_grad_() for w, s in zip(pb['w0'], pb['shapes'])]
    out['trajectories'].append(run(c, c['steps'], params, build(c, params)))
for r in data['resume']:
    c = r['case']
    params = [torch.tensor(w).reshape(s).requires_grad_() for w, s in zip(pb['w0'], pb['shapes'])]
    opt = build(c, params)
    run(c, r['before'], params, opt)
    torch.save(opt.state_dict(), r['path'])
    mid = [p.detach().flatten().tolist() for p in params]
    out['resume'].append({'mid': mid, 'rows': run(c, r['after'], params, opt)})
print(json.dumps(out))
`;

const dir = mkdtempSync(join(tmpdir(), 'optim-parity-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const resumeCases = cases.filter((c) => c.group1).map((c, i) => ({ case: c, before: 3, after: 4, path: join(dir, `state-${i}.pt`) }));
const reference = pytorchReference<{ trajectories: number[][][][]; resume: { mid: number[][]; rows: number[][][] }[] }>(script, {
  problem: pb,
  cases: cases.map((c) => ({ kind: c.kind, options: snake(c.options), group1: c.group1 && snake(c.group1), steps: c.steps ?? STEPS })),
  resume: resumeCases.map((r) => ({ ...r, case: { kind: r.case.kind, options: snake(r.case.options), group1: r.case.group1 && snake(r.case.group1) } })),
});

function build(c: Case, params: Tensor[]): Optimizer {
  const groups = c.group1 ? [{ params: [params[0]] }, { params: [params[1]], ...c.group1 }] : params;
  return new kinds[c.kind](groups, c.options);
}

function trajectory(opt: Optimizer, params: Tensor[], steps: number): number[][][] {
  const rows: number[][][] = [];
  for (let t = 0; t < steps; t++) {
    opt.zeroGrad();
    backward(params, pb);
    opt.step();
    rows.push(values(params));
  }
  return rows;
}

cases.forEach((c, k) => {
  test(`${label(c)}: the parameter trajectory matches PyTorch 1.13 to 1e-12 (float64)`, { skip: reference.skip }, () => {
    const params = makeParams(pb);
    const opt = build(c, params);
    const rows = trajectory(opt, params, c.steps ?? STEPS);
    const expected = reference.value!.trajectories[k];
    assert.equal(rows.length, expected.length);
    rows.forEach((row, t) => assertClose(row, expected[t], 1e-12, `${c.kind} step ${t + 1}`));
    opt.dispose();
    disposeAll(params);
  });
});

resumeCases.forEach((r, k) => {
  test(`${label(r.case)}: a state dict saved by PyTorch (.pt) resumes identically`, { skip: reference.skip }, () => {
    const { mid, rows: expected } = reference.value!.resume[k];
    const params = torch.keep(mid.map((w, i) => torch.fromTypedArray(new Float64Array(w), pb.shapes[i], { requiresGrad: true })));
    const opt = build(r.case, params);
    torch.scope(() => opt.loadStateDict(torch.load(r.path) as Map<string, unknown>));
    const rows = trajectory(opt, params, r.after);
    rows.forEach((row, t) => assertClose(row, expected[t], 1e-12, `${r.case.kind} resumed step ${t + 1}`));
    opt.dispose();
    disposeAll(params);
  });
});

test('RAdam decoupledWeightDecay (PyTorch 2 semantics) matches a JS transcription: w *= 1 - lr wd before the step', () => {
  const o = { lr: 0.05, betas: [0.8, 0.9] as [number, number], eps: 1e-8, weightDecay: 0.2 };
  const [b1, b2] = o.betas;
  const rhoInf = 2 / (1 - b2) - 1;
  const w = pb.w0.map((x) => [...x]);
  const m = w.map((x) => x.map(() => 0));
  const v = w.map((x) => x.map(() => 0));
  for (let t = 1; t <= 10; t++) {
    w.forEach((wi, i) => {
      const g = jsGrad(wi, pb.a[i], pb.c[i]);
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      const rho = rhoInf - (2 * t * b2 ** t) / bc2;
      const rect = rho > 5 ? Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho)) : 0;
      w[i] = wi.map((x, j) => {
        const decayed = x * (1 - o.lr * o.weightDecay);
        m[i][j] = b1 * m[i][j] + (1 - b1) * g[j];
        v[i][j] = b2 * v[i][j] + (1 - b2) * g[j] * g[j];
        const mHat = m[i][j] / bc1;
        return rho > 5 ? decayed - (o.lr * mHat * rect * Math.sqrt(bc2)) / (Math.sqrt(v[i][j]) + o.eps) : decayed - o.lr * mHat;
      });
    });
  }
  const params = makeParams(pb);
  const opt = new RAdam(params, { ...o, decoupledWeightDecay: true });
  trajectory(opt, params, 10);
  assertClose(values(params), w, 1e-12, 'RAdam decoupled');
  assert.equal(opt.stateDict().param_groups[0].decoupled_weight_decay, true);
  opt.dispose();
  disposeAll(params);
});

test('PyTorch 1.13 defaults and state layouts', () => {
  const params = makeParams(pb);
  const expect: [Optimizer, Record<string, unknown>, string[]][] = [
    [new RMSprop(params, { momentum: 0.9, centered: true }), { lr: 1e-2, alpha: 0.99, eps: 1e-8, weight_decay: 0, momentum: 0.9, centered: true, maximize: false },
      ['grad_avg', 'momentum_buffer', 'square_avg', 'step']],
    [new Adagrad(params), { lr: 1e-2, lr_decay: 0, weight_decay: 0, initial_accumulator_value: 0, eps: 1e-10, maximize: false }, ['step', 'sum']],
    [new Adamax(params), { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, maximize: false }, ['exp_avg', 'exp_inf', 'step']],
    [new NAdam(params), { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, momentum_decay: 4e-3 }, ['exp_avg', 'exp_avg_sq', 'mu_product', 'step']],
    [new RAdam(params), { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, decoupled_weight_decay: false }, ['exp_avg', 'exp_avg_sq', 'step']],
    [new Adadelta(params), { lr: 1, rho: 0.9, eps: 1e-6, weight_decay: 0, maximize: false }, ['acc_delta', 'square_avg', 'step']],
  ];
  backward(params, pb);
  for (const [opt, hyper, keys] of expect) {
    opt.step();
    const sd = opt.stateDict();
    const { params: ids, ...group } = sd.param_groups[0];
    assert.deepEqual(group, hyper, opt.name);
    assert.deepEqual(ids, [0, 1]);
    assert.deepEqual(Object.keys(sd.state.get(1)!).sort(), keys, opt.name);
    assert.equal(sd.state.get(1)!.step, 1, opt.name);
    opt.dispose();
  }
  // Adagrad's state exists from construction, as PyTorch's.
  const adagrad = new Adagrad(params, { initialAccumulatorValue: 0.25 });
  const s = adagrad.stateDict().state.get(0)!;
  assert.equal(s.step, 0);
  assert.deepEqual((s.sum as Tensor).toFlatArray(), [0.25, 0.25, 0.25]);
  adagrad.dispose();
  disposeAll(params);
});

test('invalid options are rejected with the option named', () => {
  const p = torch.keep(torch.zeros([1], { requiresGrad: true }));
  const bad: [() => unknown, RegExp][] = [
    [() => new RMSprop([p], { lr: -1 }), /RMSprop: invalid learning rate -1/],
    [() => new RMSprop([p], { alpha: -0.5 }), /RMSprop: invalid alpha value -0\.5/],
    [() => new RMSprop([p], { momentum: -0.1 }), /RMSprop: invalid momentum value -0\.1/],
    [() => new RMSprop([p], { eps: Number.NaN }), /RMSprop: invalid epsilon value NaN/],
    [() => new RMSprop([p], { weightDecay: -1 }), /RMSprop: invalid weightDecay value -1/],
    [() => new Adagrad([p], { lrDecay: -1 }), /Adagrad: invalid lrDecay value -1/],
    [() => new Adagrad([p], { initialAccumulatorValue: -1 }), /Adagrad: invalid initialAccumulatorValue value -1/],
    [() => new Adagrad([p], { eps: -1 }), /Adagrad: invalid epsilon value -1/],
    [() => new Adamax([p], { betas: [1, 0.999] }), /Adamax: invalid beta parameter at index 0: 1/],
    [() => new Adamax([p], { weightDecay: -1 }), /Adamax: invalid weightDecay value -1/],
    [() => new NAdam([p], { momentumDecay: -1 }), /NAdam: invalid momentumDecay value -1/],
    [() => new NAdam([p], { betas: [0.9, 1.5] }), /NAdam: invalid beta parameter at index 1: 1\.5/],
    [() => new RAdam([p], { lr: Infinity }), /RAdam: invalid learning rate Infinity/],
    [() => new RAdam([p], { betas: [0.9] as unknown as [number, number] }), /RAdam: betas must be a pair/],
    [() => new Adadelta([p], { rho: 1.1 }), /Adadelta: invalid rho value 1\.1: expected 0 <= rho <= 1/],
    [() => new Adadelta([p], { lr: -1 }), /Adadelta: invalid learning rate -1/],
    [() => new RMSprop([{ params: [p], alpha: -2 }]), /RMSprop: invalid alpha value -2/],
  ];
  for (const [make, message] of bad) assert.throws(make, message);
  p.dispose();
});
