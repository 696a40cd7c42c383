// ReduceLROnPlateau: its lr sequence against a hand-derived one, against
// PyTorch's (when python3-torch is installed), its state dict and its checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as torch from '../src/torch/index.js';
import { ReduceLROnPlateau, SGD } from '../src/optim/index.js';
import type { ReduceLROnPlateauOptions } from '../src/optim/index.js';

function optimizer(lrs: number[]): SGD {
  return new SGD(lrs.map((lr) => ({ params: [torch.zeros([2]).requiresGrad_()], lr })), { lr: lrs[0] });
}

function run(options: ReduceLROnPlateauOptions, metrics: number[], lrs = [1]): number[][] {
  const s = new ReduceLROnPlateau(optimizer(lrs), options);
  return metrics.map((m) => { s.step(m); return s.getLastLr(); });
}

test('ReduceLROnPlateau: hand-derived sequence (patience, cooldown, minLr, rel threshold)', () => {
  // min mode, patience 1: the 2nd bad step in a row reduces (bad > patience); cooldown 1 ignores the step after.
  const seq = run({ factor: 0.5, patience: 1, cooldown: 1, minLr: 0.2 }, [10, 9, 9.5, 9.2, 9.1, 9.3, 9.4, 9.6, 8, 8.5, 8.6, 8.7]).map((l) => l[0]);
  // 10 best; 9 best; 9.5 bad1; 9.2 bad2 → 0.5, cooldown 1; 9.1 bad1 but cooldown → 0;
  // 9.3 bad1; 9.4 bad2 → 0.25; 9.6 cooldown; 8 best; 8.5 bad1; 8.6 bad2 → max(0.125, 0.2) = 0.2; 8.7 cooldown.
  assert.deepEqual(seq, [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2]);
  // rel threshold 0.1: 9.5 is not better than 10 · 0.9 = 9, so it counts as bad.
  assert.deepEqual(run({ patience: 0, threshold: 0.1 }, [10, 9.5]).map((l) => l[0]), [1, 0.1]);
  // max mode, abs threshold 0.05: 0.53 does not beat 0.5 + 0.05.
  assert.deepEqual(run({ mode: 'max', thresholdMode: 'abs', threshold: 0.05, patience: 0, factor: 0.5 }, [0.5, 0.53, 0.6]).map((l) => l[0]), [1, 0.5, 0.5]);
  // NaN is never an improvement.
  assert.deepEqual(run({ patience: 0 }, [1, NaN]).map((l) => l[0]), [1, 0.1]);
});

test('ReduceLROnPlateau: state dict round trip continues identically; bad options are named', () => {
  const metrics = [5, 4, 4.5, 4.6, 4.7, 3, 3.1, 3.2, 3.3];
  const a = new ReduceLROnPlateau(optimizer([1, 0.1]), { patience: 1, cooldown: 2, minLr: [0.05, 0.001] });
  for (const m of metrics.slice(0, 4)) a.step(m);
  const state = JSON.parse(JSON.stringify(a.stateDict()));
  const opt = optimizer([1, 0.1]);
  opt.paramGroups.forEach((g, i) => { g.lr = a.optimizer.paramGroups[i].lr; });
  const b = new ReduceLROnPlateau(opt, {});
  b.loadStateDict(state);
  for (const m of metrics.slice(4)) { a.step(m); b.step(m); assert.deepEqual(b.getLastLr(), a.getLastLr()); }
  assert.equal(b.best, a.best);
  assert.throws(() => new ReduceLROnPlateau(optimizer([1]), { factor: 1 }), /ReduceLROnPlateau: factor must be in \[0, 1\), got 1/);
  assert.throws(() => new ReduceLROnPlateau(optimizer([1]), { mode: 'up' as never }), /mode must be 'min' or 'max'/);
  assert.throws(() => new ReduceLROnPlateau(optimizer([1]), { thresholdMode: 'x' as never }), /thresholdMode must be 'rel' or 'abs'/);
  assert.throws(() => new ReduceLROnPlateau(optimizer([1, 2]), { minLr: [0] }), /minLr lists 1 values but the optimizer has 2 parameter groups/);
});

const python = '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

test('ReduceLROnPlateau matches PyTorch on several configurations', { skip: !hasTorch && 'Python torch (python3-torch) is not installed' }, () => {
  let s = 12345;
  // Decreasing with noise for 40 steps, then worse values (so that even the default patience of 10 runs out).
  const noisy = Array.from({ length: 70 }, (_, i) => { s = (s * 1103515245 + 12345) % 2147483648; const noise = (s / 2147483648 - 0.5) * 0.2; return i < 40 ? 1 / (1 + 0.1 * i) + noise : 0.5 + 0.01 * (i - 40) + noise * 0.01; });
  const cases: { options: ReduceLROnPlateauOptions; py: string; lrs: number[] }[] = [
    { options: {}, py: '{}', lrs: [0.1] },
    { options: { factor: 0.5, patience: 2, cooldown: 1, minLr: [0.01, 0.001], threshold: 0.05 }, py: "dict(factor=0.5, patience=2, cooldown=1, min_lr=[0.01, 0.001], threshold=0.05)", lrs: [0.1, 0.02] },
    { options: { mode: 'max', factor: 0.3, patience: 1, thresholdMode: 'abs', threshold: 0.01, eps: 1e-3 }, py: "dict(mode='max', factor=0.3, patience=1, threshold_mode='abs', threshold=0.01, eps=1e-3)", lrs: [0.05, 0.5] },
    { options: { patience: 0, factor: 0.9, cooldown: 3, minLr: 0.03 }, py: 'dict(patience=0, factor=0.9, cooldown=3, min_lr=0.03)', lrs: [0.1] },
  ];
  for (const c of cases) {
    const ours = run(c.options, noisy, c.lrs);
    const script = [
      'import torch, json',
      `ps = [torch.nn.Parameter(torch.zeros(2)) for _ in range(${c.lrs.length})]`,
      `opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, ${JSON.stringify(c.lrs)})], lr=${c.lrs[0]})`,
      `s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **${c.py})`,
      'out = []',
      `for m in ${JSON.stringify(noisy)}:`,
      '    s.step(m)',
      '    out.append([g["lr"] for g in opt.param_groups])',
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync(python, ['-c', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const theirs = JSON.parse(r.stdout) as number[][];
    assert.equal(ours.length, theirs.length);
    ours.forEach((row, i) => row.forEach((lr, g) => assert.ok(Math.abs(lr - theirs[i][g]) <= 1e-15 * Math.abs(lr), `${c.py} step ${i} group ${g}: ${lr} vs ${theirs[i][g]}`)));
    assert.ok(new Set(ours.map((r) => r[0])).size > 1, `${c.py}: the lr changed at least once`);
  }
});
