// A parameter group added to the optimizer after its scheduler was made (as
// BaseFinetuning does): like PyTorch, the scheduler sets the lrs of the
// groups it was made with and leaves the new one alone; its state still
// saves and loads; ReduceLROnPlateau follows PyTorch's rule (a single minLr
// extends to the new group, a list of them is an error when it reduces).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import {
  ChainedScheduler, CosineAnnealingLR, CosineAnnealingWarmRestarts, ExponentialLR, LambdaLR, LRScheduler, MultiplicativeLR,
  ReduceLROnPlateau, SGD, SequentialLR, StepLR,
} from '../src/optim/index.js';

const param = () => torch.keep(torch.zeros([2], { requiresGrad: true }));

/** Each scheduler with and without a group added after it was made: the first group's lrs must match, the added one stay put. */
const makers: [string, (o: SGD) => LRScheduler][] = [
  ['LambdaLR', (o) => new LambdaLR(o, (e) => 1 / (e + 1))],
  ['StepLR', (o) => new StepLR(o, { stepSize: 2, gamma: 0.5 })],
  ['CosineAnnealingLR', (o) => new CosineAnnealingLR(o, { tMax: 5 })],
  ['MultiplicativeLR', (o) => new MultiplicativeLR(o, () => 0.9)],
  ['CosineAnnealingWarmRestarts', (o) => new CosineAnnealingWarmRestarts(o, { t0: 3 })],
  ['ChainedScheduler', (o) => new ChainedScheduler([new StepLR(o, { stepSize: 2, gamma: 0.5 }), new ExponentialLR(o, { gamma: 0.9 })])],
  ['SequentialLR', (o) => new SequentialLR(o, { schedulers: [new ExponentialLR(o, { gamma: 0.9 }), new StepLR(o, { stepSize: 2, gamma: 0.5 })], milestones: [3] })],
];

test('schedulers leave a group added after them alone and keep scheduling the others', () => {
  for (const [name, make] of makers) {
    const [a, b, extra] = [param(), param(), param()];
    const plain = new SGD([a], { lr: 0.1 });
    const grown = new SGD([b], { lr: 0.1 });
    const reference = make(plain);
    const scheduler = make(grown);
    grown.addParamGroup({ params: [extra], lr: 0.5 });
    for (let t = 0; t < 8; t++) {
      reference.step();
      scheduler.step();
      assert.equal(grown.paramGroups[0].lr, plain.paramGroups[0].lr, `${name} step ${t}: the first group`);
      assert.equal(grown.paramGroups[1].lr, 0.5, `${name} step ${t}: the added group keeps its lr`);
    }
    // The state, saved with the group there, loads into a scheduler made before it was added (a resumed run).
    const state = scheduler.stateDict();
    const [c, more] = [param(), param()];
    const again = new SGD([c], { lr: 0.1 });
    const resumed = make(again);
    again.addParamGroup({ params: [more], lr: 0.5 });
    again.loadStateDict(grown.stateDict()); // as a resume does: the optimizer's lrs (recursive schedulers continue from them)
    resumed.loadStateDict(state);
    resumed.step();
    scheduler.step();
    assert.equal(again.paramGroups[0].lr, grown.paramGroups[0].lr, `${name}: resumed`);
    for (const t of [a, b, extra, c, more]) t.dispose();
    for (const o of [plain, grown, again]) o.dispose();
  }
});

test('a scheduler state from before the group was added loads after it; one for other groups is still refused', () => {
  const [a, b] = [param(), param()];
  const optimizer = new SGD([a], { lr: 0.1 });
  const scheduler = new StepLR(optimizer, { stepSize: 1, gamma: 0.5 });
  const saved = scheduler.stateDict();
  optimizer.addParamGroup({ params: [b], lr: 0.2 });
  scheduler.loadStateDict(saved);
  assert.throws(() => scheduler.loadStateDict({ ...saved, baseLrs: [0.1, 0.2] }), /'baseLrs' must list one lr per parameter group \(1\) the scheduler was made with/);
  optimizer.dispose();
  a.dispose();
  b.dispose();
});

test("ReduceLROnPlateau with an added group: a single minLr extends to it (PyTorch's default_min_lr), a list is an error", () => {
  const [a, b, c, d] = [param(), param(), param(), param()];
  const single = new SGD([a], { lr: 1 });
  const plateau = new ReduceLROnPlateau(single, { patience: 0, factor: 0.5, minLr: 0.3 });
  const before = plateau.stateDict();
  single.addParamGroup({ params: [b], lr: 0.4 });
  plateau.step(1);
  plateau.step(2);
  assert.deepEqual(single.paramGroups.map((g) => g.lr), [0.5, 0.3], 'both reduced, the new one to the min lr');
  assert.deepEqual(plateau.minLrs, [0.3, 0.3]);
  assert.equal(plateau.stateDict().defaultMinLr, 0.3);
  // A state saved before the group was added (one minLr) loads with two groups.
  plateau.loadStateDict(before);
  assert.deepEqual(plateau.minLrs, [0.3]);
  assert.throws(() => plateau.loadStateDict({ ...before, minLrs: [0.3, 0.3, 0.3] }), /'minLrs' must list one value per parameter group \(2\)/);

  const listed = new SGD([c], { lr: 1 });
  const strict = new ReduceLROnPlateau(listed, { patience: 0, minLr: [0.1] });
  listed.addParamGroup({ params: [d], lr: 0.4 });
  strict.step(1);
  assert.throws(() => strict.step(2), /the optimizer has 2 parameter groups but minLr lists 1 .*set scheduler.minLrs to one value per group/);
  strict.minLrs = [0.1, 0];
  strict.step(3);
  assert.ok(Math.abs(listed.paramGroups[1].lr - 0.04) < 1e-15);
  for (const t of [a, b, c, d]) t.dispose();
  single.dispose();
  listed.dispose();
});
