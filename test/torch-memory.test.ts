// Deterministic memory management: scopes, keep, dispose, and the errors a
// disposed tensor gives. Counts come from the addon's live-handle counter;
// each measurement is synchronous, so no finalizer can run in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../src/index.js';

const live = (): number => torch.memoryStats().liveTensors;

test('scope frees every temporary: the live count returns to its baseline', () => {
  const base = live();
  const depth = torch.scopeDepth();
  const result = torch.scope(() => {
    assert.equal(torch.scopeDepth(), depth + 1);
    let x = torch.ones([16, 16]);
    for (let i = 0; i < 50; i++) x = x.mul(1.01).add(0.5).relu();
    const parts = x.chunk(4);
    assert.ok(live() >= base + 150, 'temporaries are alive inside the scope');
    return parts.length;
  });
  assert.equal(result, 4, 'non-tensor results pass through');
  assert.equal(torch.scopeDepth(), depth);
  assert.equal(live(), base);
});

test('returned tensors survive (in arrays, objects and Maps) and move to the parent scope', () => {
  const base = live();
  let inner!: { a: torch.Tensor; list: torch.Tensor[]; map: Map<string, torch.Tensor>; n: number };
  let outerKept!: torch.Tensor;
  torch.scope(() => {
    inner = torch.scope(() => {
      const t = torch.tensor([1, 2, 3]);
      torch.zeros([10]); // a temporary
      return { a: t.mul(2), list: [t.add(1), t.sub(1)], map: new Map([['m', t.neg()]]), n: 5 };
    });
    // Alive after the inner scope closed, owned by the outer one now.
    assert.deepEqual(inner.a.toArray(), [2, 4, 6]);
    assert.deepEqual(inner.list.map((x) => x.toArray()), [[2, 3, 4], [0, 1, 2]]);
    assert.deepEqual(inner.map.get('m')!.toArray(), [-1, -2, -3]);
    assert.equal(live(), base + 4, 'only the four returned tensors outlive the inner scope');
    outerKept = torch.scope(() => inner.a.add(100));
    assert.equal(live(), base + 5);
    return outerKept;
  });
  // The outer scope returned only outerKept: the inner results it owned are freed.
  assert.equal(inner.a.isDisposed, true);
  assert.ok(inner.list.every((t) => t.isDisposed));
  assert.equal(inner.map.get('m')!.isDisposed, true);
  assert.equal(outerKept.isDisposed, false);
  assert.deepEqual(outerKept.toArray(), [102, 104, 106]);
  assert.equal(live(), base + 1);
  outerKept.dispose();
  assert.equal(live(), base);
});

test('a tensor created outside a scope and returned by it is left alone', () => {
  const base = live();
  const outside = torch.ones([2]);
  const same = torch.scope(() => {
    torch.ones([3]);
    return outside;
  });
  assert.equal(same, outside);
  assert.equal(outside.isDisposed, false);
  // Using an outside tensor inside a scope (reads, in-place updates) never frees it.
  torch.scope(() => {
    outside.add_(1);
    outside.mul(2);
    torch.aten('mul_.Scalar', outside, 3);
  });
  assert.deepEqual(outside.toArray(), [6, 6]);
  outside.dispose();
  assert.equal(live(), base);
});

test('keep() removes tensors from every scope; dispose() frees nested structures', () => {
  const base = live();
  const kept = torch.scope(() => {
    const inner = torch.scope(() => {
      const k = torch.keep(torch.ones([4]));
      torch.keep({ list: [torch.zeros([1])], map: new Map([['x', torch.zeros([1])]]) });
      torch.ones([5]); // freed
      return k;
    });
    return [inner];
  });
  assert.equal(kept.length, 1);
  assert.equal(kept[0].isDisposed, false);
  assert.equal(live(), base + 3, 'the kept tensor and the two kept through a structure');
  kept[0].dispose();
  assert.equal(live(), base + 2);
  // torch.dispose walks arrays, objects and Maps.
  const a = torch.ones([1]);
  const b = torch.ones([1]);
  const c = torch.ones([1]);
  torch.dispose({ a, nested: [b, { c }] });
  assert.ok(a.isDisposed && b.isDisposed && c.isDisposed);
  assert.equal(live(), base + 2);
});

test('an exception inside a scope still frees its tensors and closes the scope', () => {
  const base = live();
  const depth = torch.scopeDepth();
  let leaked: torch.Tensor | null = null;
  assert.throws(() => torch.scope(() => {
    leaked = torch.ones([8]);
    torch.scope(() => {
      torch.zeros([8]);
      throw new Error('failure in a nested scope');
    });
  }), /failure in a nested scope/);
  assert.equal(torch.scopeDepth(), depth);
  assert.equal(leaked!.isDisposed, true);
  assert.equal(live(), base);
  // An op error inside a scope (a libtorch exception) behaves the same.
  assert.throws(() => torch.scope(() => torch.ones([2, 3]).matmul(torch.ones([2, 3]))), /cannot be multiplied/);
  assert.equal(live(), base);
  // A scope body returning a Promise is refused and frees its tensors.
  assert.throws(() => torch.scope(() => Promise.resolve(torch.ones([1]))), /Promise/);
  assert.equal(torch.scopeDepth(), depth);
  assert.equal(live(), base);
});

test('disposed tensors throw a clear error; dispose is idempotent; views keep storage alive', () => {
  const base = live();
  const t = torch.tensor([1, 2, 3, 4]);
  const view = t.view(2, 2);
  t.dispose();
  assert.equal(t.isDisposed, true);
  t.dispose(); // idempotent
  t[Symbol.dispose]();
  assert.equal(String(t), 'Tensor(disposed)');
  const disposedMessage = /disposed and can no longer be used/;
  assert.throws(() => t.shape, disposedMessage);
  assert.throws(() => t.add(1), disposedMessage);
  assert.throws(() => t.toArray(), disposedMessage);
  const other = torch.ones([4]);
  assert.throws(() => other.add(t), disposedMessage, 'as an argument');
  other.dispose();
  assert.throws(() => torch.cat([t, t]), disposedMessage, 'inside a tensor list');
  assert.deepEqual(view.toArray(), [[1, 2], [3, 4]], 'the view still owns the storage');
  view.dispose();
  assert.equal(live(), base);
  // A tensor disposed inside a scope is not disposed twice at its end.
  torch.scope(() => {
    const x = torch.ones([2]);
    x.dispose();
    assert.equal(x.isDisposed, true);
  });
  assert.equal(live(), base);
});

test('`using` disposes at block end', () => {
  const base = live();
  {
    using t = torch.ones([3]);
    assert.equal(t.numel(), 3);
    assert.equal(live(), base + 1);
  }
  assert.equal(live(), base);
});

test('backward works after the scope that built the graph has freed its temporaries', () => {
  const base = live();
  const w = torch.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
  const loss = torch.scope(() => {
    const h = w.mul(w); // freed when the scope ends; the graph holds its own reference
    const s = h.exp().sum();
    return s;
  });
  loss.backward();
  const g = w.grad!;
  const expected = [1, 2, 3].map((v) => 2 * v * Math.exp(v * v));
  g.toFlatArray().forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-9 * expected[i]));
  for (const x of [loss, g, w]) x.dispose();
  assert.equal(live(), base);
});

test('a training-like loop in scopes keeps the live count flat over many steps', () => {
  const w = torch.keep(torch.randn([8, 8], { requiresGrad: true }));
  const x = torch.keep(torch.randn([4, 8]));
  const base = live();
  for (let step = 0; step < 500; step++) {
    torch.scope(() => {
      const loss = x.matmul(w).relu().pow(2).mean();
      loss.backward();
      torch.noGrad(() => w.sub_(w.grad!.mul(0.01)));
      w.grad = null;
    });
    if (step % 100 === 0) assert.equal(live(), base, `step ${step}`);
  }
  assert.equal(live(), base);
  w.dispose();
  x.dispose();
});
