// Optimizer state dicts (round trips, files, mismatches) and memory: no
// tensor may outlive a step except the optimizer's own state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import {
  Adadelta, Adagrad, Adam, AdamW, AdamWScheduleFree, Adamax, NAdam, Optimizer, OptimizerStateDict, RAdam, RMSprop, SGD, SGDScheduleFree,
} from '../src/optim/index.js';
import { Problem, Tensor, backward, disposeAll, makeParams, problem, values } from './optim-helpers.js';

type Make = (params: Tensor[]) => Optimizer;
const kinds: [string, Make][] = [
  ['SGD (nesterov)', (p) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
  ['Adam (amsgrad)', (p) => new Adam(p, { lr: 0.05, amsgrad: true })],
  ['AdamW', (p) => new AdamW(p, { lr: 0.05, weightDecay: 0.1 })],
  ['RMSprop (centered, momentum)', (p) => new RMSprop(p, { lr: 0.05, centered: true, momentum: 0.9, weightDecay: 0.01 })],
  ['Adagrad', (p) => new Adagrad(p, { lr: 0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1 })],
  ['Adamax', (p) => new Adamax(p, { lr: 0.05, weightDecay: 0.01 })],
  ['NAdam', (p) => new NAdam(p, { lr: 0.05, weightDecay: 0.01 })],
  ['RAdam (decoupled)', (p) => new RAdam(p, { lr: 0.05, weightDecay: 0.1, decoupledWeightDecay: true })],
  ['Adadelta', (p) => new Adadelta(p, { weightDecay: 0.01 })],
  ['SGDScheduleFree', (p) => {
    const opt = new SGDScheduleFree(p, { lr: 0.05, warmupSteps: 2, weightDecay: 0.01 });
    opt.train();
    return opt;
  }],
  ['AdamWScheduleFree', (p) => {
    const opt = new AdamWScheduleFree(p, { lr: 0.05, warmupSteps: 3 });
    opt.train();
    return opt;
  }],
];

function steps(opt: Optimizer, params: Tensor[], pb: Problem, n: number): void {
  for (let t = 0; t < n; t++) {
    opt.zeroGrad();
    backward(params, pb);
    opt.step();
  }
}

/** Parameters with the same values as `params` (what a model checkpoint restores). */
const copyOf = (params: Tensor[]): Tensor[] =>
  torch.keep(params.map((p) => torch.noGrad(() => p.clone()).requiresGrad_(true)));

for (const [name, make] of kinds) {
  test(`${name}: a fresh optimizer that loads the state dict continues identically`, () => {
    const pb = problem();
    const a = makeParams(pb);
    const optA = make(a);
    steps(optA, a, pb, 3);
    const b = copyOf(a);
    const optB = make(b);
    optB.loadStateDict(optA.stateDict());
    steps(optA, a, pb, 4);
    steps(optB, b, pb, 4);
    assert.deepEqual(values(b), values(a));
    optA.dispose();
    optB.dispose();
    disposeAll([...a, ...b]);
  });
}

test('state dicts use PyTorch layout: indices, snake_case hyperparameters, per-index state', () => {
  const pb = problem();
  const params = makeParams(pb);
  const opt = new AdamW([{ params: [params[0]] }, { params: [params[1]], lr: 0.5 }], { weightDecay: 0.2 });
  steps(opt, params, pb, 2);
  const sd = opt.stateDict();
  assert.deepEqual(sd.param_groups.map((g) => g.params), [[0], [1]]);
  assert.deepEqual(sd.param_groups[1], { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.2, amsgrad: false, maximize: false, params: [1] });
  assert.deepEqual([...sd.state.keys()], [0, 1]);
  assert.equal(sd.state.get(1)!.step, 2);
  // The returned betas are copies: editing them leaves the optimizer alone.
  (sd.param_groups[0].betas as number[])[0] = 0.1;
  assert.equal(opt.paramGroups[0].betas[0], 0.9);
  opt.dispose();
  disposeAll(params);
});

test('state dicts survive torch.save / torch.load (.pt) and continue identically', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optim-'));
  try {
    const pb = problem();
    const a = makeParams(pb);
    const optA = new Adam(a, { lr: 0.05 });
    steps(optA, a, pb, 3);
    const path = join(dir, 'adam.pt');
    torch.save(optA.stateDict() as unknown as torch.Saveable, path);
    const b = copyOf(a);
    const optB = new Adam(b, { lr: 0.05 });
    torch.scope(() => optB.loadStateDict(torch.load(path) as Map<string, unknown>));
    steps(optA, a, pb, 3);
    steps(optB, b, pb, 3);
    assert.deepEqual(values(b), values(a));
    optA.dispose();
    optB.dispose();
    disposeAll([...a, ...b]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadStateDict copies the tensors: the source optimizer can be disposed afterwards', () => {
  const pb = problem();
  const a = makeParams(pb);
  const optA = new SGD(a, { lr: 0.1, momentum: 0.9 });
  steps(optA, a, pb, 2);
  const b = copyOf(a);
  const optB = new SGD(b, { lr: 0.1, momentum: 0.9 });
  optB.loadStateDict(optA.stateDict());
  const expected = values(a);
  steps(optA, a, pb, 1);
  optA.dispose();
  steps(optB, b, pb, 1);
  assert.notDeepEqual(values(b), expected);
  assert.deepEqual(values(b), values(a));
  optB.dispose();
  disposeAll([...a, ...b]);
});

test('loadStateDict rejects mismatched dicts with clear errors and leaves the optimizer unchanged', () => {
  const pb = problem();
  const a = makeParams(pb);
  const source = new Adam(a);
  steps(source, a, pb, 1);
  const sd = source.stateDict();

  const two = makeParams(pb);
  const twoGroups = new Adam([{ params: [two[0]] }, { params: [two[1]] }]);
  assert.throws(() => twoGroups.loadStateDict(sd), /Adam\.loadStateDict: the state dict has 1 parameter groups but this optimizer has 2/);

  const one = makeParams(problem([[3]]));
  const oneParam = new Adam(one);
  assert.throws(() => oneParam.loadStateDict(sd), /parameter group 0 has 2 parameters in the state dict but 1 in this optimizer/);

  const other = makeParams(problem([[3], [4]]));
  const reshaped = new Adam(other);
  steps(reshaped, other, problem([[3], [4]]), 1);
  const before = reshaped.stateDict();
  const live = torch.memoryStats().liveTensors;
  assert.throws(() => reshaped.loadStateDict(sd), /state of parameter 1: 'exp_avg' has shape \[2, 2\] but the parameter has shape \[4\]/);
  assert.equal(torch.memoryStats().liveTensors, live, 'a failed load frees what it copied');
  const after = reshaped.stateDict();
  assert.equal(after.state.get(1)!.exp_avg, before.state.get(1)!.exp_avg, 'the old state is still in place');

  const badLr: OptimizerStateDict = { ...sd, param_groups: sd.param_groups.map((g) => ({ ...g, lr: -1 })) };
  assert.throws(() => source.loadStateDict(badLr), /Adam: invalid learning rate -1/);
  assert.equal(source.paramGroups[0].lr, 1e-3);
  assert.throws(() => source.loadStateDict({ state: new Map() } as unknown as OptimizerStateDict), /no 'param_groups' array/);
  assert.throws(() => source.loadStateDict({ ...sd, state: new Map([[7, {}]]) }), /state entry 7 names no parameter/);
  assert.throws(() => source.loadStateDict(42 as unknown as OptimizerStateDict), /expected a dict/);

  for (const o of [source, twoGroups, oneParam, reshaped]) o.dispose();
  disposeAll([...a, ...two, ...one, ...other]);
});

for (const [name, make] of kinds) {
  test(`${name}: 100 steps leave the live tensor count unchanged; dispose() frees the state`, () => {
    const pb = problem();
    const params = makeParams(pb);
    const opt = make(params);
    steps(opt, params, pb, 1); // the first step creates the state
    const live = torch.memoryStats().liveTensors;
    for (let t = 0; t < 100; t++) {
      opt.zeroGrad(t % 2 === 0);
      backward(params, pb);
      opt.step();
      if ((opt instanceof AdamWScheduleFree || opt instanceof SGDScheduleFree) && t % 10 === 0) {
        opt.eval();
        opt.train();
      }
      if (t % 25 === 0) opt.stateDict();
    }
    assert.equal(torch.memoryStats().liveTensors, live);
    const stateTensors = [...opt.stateDict().state.values()].flatMap((s) => Object.values(s)).filter((v) => v instanceof torch.Tensor).length;
    assert.ok(stateTensors > 0);
    opt.dispose();
    assert.equal(torch.memoryStats().liveTensors, live - stateTensors);
    assert.throws(() => opt.step(), /has been disposed/);
    disposeAll(params);
  });
}
