// Bad input must give a JS Error that names the problem — never a crash.
// The last test runs ordinary ops to show the process (and the engine) survived.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../src/index.js';

const { scope, F, linalg, aten } = torch;
const i64 = { dtype: 'int64' as const };
const f64 = { dtype: 'float64' as const };

/** Asserts that fn throws an Error (of `type`, if given) whose message matches every pattern. */
function throwsClearly(fn: () => unknown, patterns: RegExp[], type: new (...args: never[]) => Error = Error): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${String(e)}`);
    for (const p of patterns) assert.match((e as Error).message, p);
    return true;
  });
}

test('shape mismatches: matmul, bmm, conv2d channels and groups, broadcasting, cat, view, reshape', () => scope(() => {
  throwsClearly(() => torch.ones([2, 3]).matmul(torch.ones([2, 3])), [/cannot be multiplied/, /2x3 and 2x3/]);
  throwsClearly(() => torch.ones([2, 3, 4]).bmm(torch.ones([3, 4, 2])), [/bmm/, /batch2/]);
  throwsClearly(() => torch.tensor(1).matmul(torch.tensor(2)), [/at least 1D/]);
  throwsClearly(() => F.conv2d(torch.ones([1, 3, 8, 8]), torch.ones([4, 2, 3, 3])), [/conv2d/, /to have 2 channels, but got 3 channels/]);
  throwsClearly(() => F.conv2d(torch.ones([1, 3, 4, 4]), torch.ones([2, 1, 3, 3]), { groups: 2 }), [/groups=2/, /3 channels/]);
  throwsClearly(() => F.conv2d(torch.ones([1, 1, 2, 2]), torch.ones([1, 1, 3, 3])), [/Kernel size can't be greater than actual input size/]);
  throwsClearly(() => F.convTranspose2d(torch.ones([1, 3, 4, 4]), torch.ones([2, 1, 3, 3])), [/conv_transpose2d/, /channels/]);
  throwsClearly(() => F.linear(torch.ones([2, 5]), torch.ones([3, 4])), [/cannot be multiplied/]);
  throwsClearly(() => torch.ones([3]).add(torch.ones([4])), [/size of tensor a \(3\) must match the size of tensor b \(4\)/]);
  throwsClearly(() => torch.cat([torch.ones([2, 3]), torch.ones([2, 4])]), [/Sizes of tensors must match except in dimension 0/]);
  throwsClearly(() => torch.ones([6]).view(4, -1), [/shape '\[4, -1\]' is invalid for input of size 6/]);
  throwsClearly(() => torch.ones([6]).reshape(4, 2), [/invalid for input of size 6/]);
  throwsClearly(() => torch.ones([3]).expand(2), [/expanded size/]);
  throwsClearly(() => F.maxPool2d(torch.ones([1, 1, 2, 2]), 3), [/Output size is too small/]);
  throwsClearly(() => torch.einsum('ij,jk->ik', torch.ones([2, 3])), [/einsum/, /operands/]);
}));

test('wrong dtypes: integer input to decompositions, float indices, non-bool conditions', () => scope(() => {
  const ints = torch.eye(3, 3, i64);
  throwsClearly(() => linalg.cholesky(ints), [/linalg.cholesky/, /floating point/, /Long/]);
  throwsClearly(() => linalg.qr(ints), [/linalg.qr/, /floating point/]);
  throwsClearly(() => linalg.svd(ints), [/linalg.svd/, /floating point/]);
  throwsClearly(() => linalg.eigvalsh(ints), [/linalg_eigvalsh/, /not implemented for 'Long'/]);
  throwsClearly(() => torch.ones([2, 3]).indexSelect(0, torch.tensor([0])), [/index_select/, /int32 or int64 for index/]);
  throwsClearly(() => torch.ones([2, 3]).gather(1, torch.tensor([[0]])), [/gather/, /int64/]);
  throwsClearly(() => torch.where(torch.tensor([1, 0]), torch.ones([2]), torch.zeros([2])), [/condition to be a boolean tensor/]);
  throwsClearly(() => F.crossEntropy(torch.ones([2, 3]), torch.tensor([0, 1], { dtype: 'int32' })), [/cross_entropy/]);
  throwsClearly(() => torch.tensor([1, 2], i64).add_(0.5), [/can't be cast|cannot be cast/]);
}));

test('out-of-range indices and dims: select, indexSelect, gather, scatter, index, crossEntropy targets, oneHot', () => scope(() => {
  const x = torch.ones([2, 3]);
  throwsClearly(() => x.select(0, 5), [/select\(\)/, /index 5 out of range/], RangeError);
  throwsClearly(() => x.select(3, 0), [/[Dd]imension out of range/], RangeError);
  throwsClearly(() => x.indexSelect(0, torch.tensor([5], i64)), [/index_select/, /out of range/], RangeError);
  throwsClearly(() => x.indexSelect(1, torch.tensor([-1], i64)), [/index_select/, /out of DATA bounds, id=-1/]);
  throwsClearly(() => x.gather(1, torch.tensor([[5]], i64)), [/gather/, /index 5 is out of bounds for dimension 1 with size 3/]);
  throwsClearly(() => x.gather(1, torch.tensor([[-5]], i64)), [/index -5 is out of bounds/]);
  throwsClearly(() => torch.zeros([2, 4]).scatter(1, torch.tensor([[9]], i64), 1), [/index 9 is out of bounds/]);
  throwsClearly(() => torch.zeros([3]).scatterAdd(0, torch.tensor([7], i64), torch.ones([1])), [/index 7 is out of bounds/]);
  throwsClearly(() => torch.ones([3]).index([torch.tensor([10], i64)]), [/index 10 is out of bounds for dimension 0 with size 3/], RangeError);
  throwsClearly(() => x.narrow(1, 2, 5), [/narrow/, /exceeds dimension size|out of range/]);
  throwsClearly(() => x.size(2), [/size\(2\)/, /out of range/], RangeError);
  throwsClearly(() => x.sum(4), [/[Dd]imension out of range/]);
  throwsClearly(() => F.crossEntropy(torch.ones([2, 3]), torch.tensor([0, 7], i64)), [/Target 7 is out of bounds/], RangeError);
  throwsClearly(() => F.oneHot(torch.tensor([5], i64), 3), [/smaller than num_classes/]);
  throwsClearly(() => F.oneHot(torch.tensor([-1], i64), 3), [/non-negative/]);
  throwsClearly(() => x.item(), [/item\(\)/, /6 elements, expected exactly 1/], RangeError);
}));

test('unknown dtype and device strings', () => scope(() => {
  const bad = 'float33' as torch.DType;
  throwsClearly(() => torch.zeros([2], { dtype: bad }), [/unknown dtype 'float33'/, /float32/], TypeError);
  throwsClearly(() => torch.tensor([1, 2], { dtype: bad }), [/unknown dtype 'float33'/], TypeError);
  throwsClearly(() => torch.randint(0, 3, [2], { dtype: 'int128' as torch.DType }), [/unknown dtype 'int128'/], TypeError);
  throwsClearly(() => torch.fromTypedArray(new Float32Array(2), [2], { dtype: bad }), [/unknown dtype/], TypeError);
  throwsClearly(() => torch.ones([2]).to('float33'), [/float33/, /not a dtype/], TypeError);
  throwsClearly(() => torch.ones([2]).to({ dtype: bad }), [/unknown dtype 'float33'/], TypeError);
  throwsClearly(() => torch.ones([2]).sum(undefined, { dtype: bad }), [/unknown dtype/], TypeError);
  throwsClearly(() => torch.ones([2]).to('tpu:0'), [/tpu:0/], TypeError);
  if (!torch.cuda.isAvailable()) throwsClearly(() => torch.ones([2]).to('cuda'), [/cuda/i]);
  throwsClearly(() => torch.autocast({ deviceType: 'tpu' as 'cpu' }, () => 0), [/device type must be 'cpu' or 'cuda'/], TypeError);
}));

test('NaN or infinite matrices into cholesky, svd, svdvals, qr, eigvalsh', () => scope(() => {
  const nan = torch.tensor([[NaN, 1], [1, 2]], f64);
  const inf = torch.tensor([[4, 1], [1, Infinity]], f64);
  for (const m of [nan, inf]) {
    throwsClearly(() => linalg.cholesky(m), [/linalg.cholesky/, /NaN or infinite/]);
    throwsClearly(() => linalg.qr(m), [/linalg.qr/, /NaN or infinite/]);
    throwsClearly(() => linalg.eigvalsh(m), [/linalg.eigvalsh/, /NaN or infinite/]);
    throwsClearly(() => linalg.eigh(m), [/linalg.eigh/, /NaN or infinite/]);
    throwsClearly(() => linalg.svd(m), [/linalg.svd/, /NaN or infinite/]);
    throwsClearly(() => linalg.svdvals(m), [/linalg.svdvals/, /NaN or infinite/]);
  }
  throwsClearly(() => linalg.cholesky(torch.tensor([[1, 2], [2, 1]], f64)), [/not positive-definite/]);
  throwsClearly(() => linalg.solve(torch.zeros([2, 2]), torch.ones([2, 1])), [/singular/]);
  throwsClearly(() => linalg.inv(torch.zeros([2, 2])), [/singular/]);
  throwsClearly(() => linalg.cholesky(torch.ones([2, 3])), [/square matrices/]);
}));

test('bad data for tensor(), fromTypedArray and shapes', () => scope(() => {
  throwsClearly(() => torch.tensor([[1, 2], [3]]), [/ragged/], TypeError);
  throwsClearly(() => torch.tensor([[1, 2], 3] as torch.NestedArray), [/ragged/], TypeError);
  throwsClearly(() => torch.tensor([[[1], [2]], [[3], 4]] as torch.NestedArray), [/ragged/], TypeError);
  throwsClearly(() => torch.tensor(['a'] as unknown as number[]), [/element a is not a number or boolean/], TypeError);
  throwsClearly(() => torch.fromTypedArray(new Float32Array(5), [2, 3]), [/shape \[2, 3\] needs 6 elements but the data has 5/], RangeError);
  throwsClearly(() => torch.fromTypedArray(new Uint16Array(3)), [/Uint16Array/], TypeError);
  throwsClearly(() => torch.zeros([2.5]), [/must be an integer/], TypeError);
  throwsClearly(() => torch.zeros([-1]), [/negative dimension -1/]);
  // 400 PB: beyond any CPU's virtual address space (even 57-bit), so it fails even where memory is overcommitted.
  throwsClearly(() => torch.zeros([1e17]), [/out of memory: cannot allocate 3\.73e\+08 GiB/]);
  throwsClearly(() => torch.arange(0, 3, 0), [/step must not be zero/], RangeError);
  throwsClearly(() => torch.randint(5, 2, [3]), [/from=5 >= to=2/]);
  throwsClearly(() => torch.linspace(0, 1, -1), [/non-negative/]);
  throwsClearly(() => torch.ones([4]).split(0), [/split_size/]);
  throwsClearly(() => torch.ones([4]).slice(0, 0, 4, 0), [/step must be positive/]);
  throwsClearly(() => torch.tensor([5], i64).remainder(0), [/ZeroDivisionError/]);
  throwsClearly(() => torch.manualSeed(-1), [/non-negative integer/], RangeError);
  throwsClearly(() => torch.setNumThreads(0), [/positive integer/], RangeError);
  throwsClearly(() => torch.setRngState(torch.zeros([3], { dtype: 'uint8' })), [/RNG state size/]);
}));

test('bad calls through aten(): unknown operator, wrong argument types and counts', () => scope(() => {
  throwsClearly(() => aten('no_such_op'), [/unknown operator aten::no_such_op/]);
  throwsClearly(() => aten('add.NoSuchOverload', torch.ones([1]), torch.ones([1])), [/unknown operator aten::add.NoSuchOverload/]);
  throwsClearly(() => aten('add.Tensor', torch.ones([1]), 'x'), [/add.Tensor/, /expected a Tensor/], TypeError);
  throwsClearly(() => aten('add.Tensor', torch.ones([1])), [/missing required argument 'other'/], TypeError);
  throwsClearly(() => aten('relu', torch.ones([1]), 1, 2), [/takes 1 arguments but 3 were given/], TypeError);
  throwsClearly(() => aten('sum.dim_IntList', torch.ones([2]), 'zero'), [/argument 'dim' must be an array/], TypeError);
  throwsClearly(() => aten('mul.Scalar', torch.ones([1]), 'two'), [/argument 'other' must be a number/], TypeError);
  throwsClearly(() => aten('dropout', torch.ones([1]), 0.5, 'yes'), [/argument 'train' must be a boolean/], TypeError);
  throwsClearly(() => F.pad(torch.ones([1, 1, 2, 2]), [1, 1], 'wrap' as 'reflect'), [/mode must be/], TypeError);
  throwsClearly(() => F.conv2d(torch.ones([1, 1, 4, 4]), torch.ones([1, 1, 3, 3]), { padding: 'full' as 'same' }), [/padding must be/], TypeError);
  throwsClearly(() => F.crossEntropy(torch.ones([2, 3]), torch.tensor([0, 1], i64), { reduction: 'avg' as 'mean' }), [/reduction must be/], TypeError);
}));

test('autograd misuse gives clear errors', () => scope(() => {
  throwsClearly(() => torch.ones([2]).sum().backward(), [/does not require grad/]);
  throwsClearly(() => torch.autograd.grad(torch.ones([1]).sum(), torch.ones([1])), [/does not require grad/]);
  const x = torch.ones([2], { requiresGrad: true });
  throwsClearly(() => x.mul(2).backward(), [/scalar outputs/]);
  throwsClearly(() => { x.grad = torch.ones([3]); }, [/gradient shape \[3\] does not match tensor shape \[2\]/]);
  throwsClearly(() => x.add_(1), [/leaf Variable that requires grad/]);
  const y = x.exp().sum(); // exp saves its result, which the first backward frees
  y.backward();
  throwsClearly(() => y.backward(), [/second time/]);
}));

test('using a disposed tensor throws a clear error wherever it appears', () => scope(() => {
  const t = torch.ones([2, 2]);
  t.dispose();
  const msg = /disposed and can no longer be used/;
  throwsClearly(() => t.add(1), [msg]);
  throwsClearly(() => t.shape, [msg]);
  throwsClearly(() => t.dataSync(), [msg]);
  throwsClearly(() => torch.ones([2, 2]).matmul(t), [msg]);
  throwsClearly(() => torch.stack([torch.ones([2, 2]), t]), [msg]);
  throwsClearly(() => F.conv2d(torch.ones([1, 1, 3, 3]), t.view(1, 1, 2, 2)), [msg]);
  throwsClearly(() => torch.autograd.grad(t, t), [msg]);
  throwsClearly(() => torch.save({ t }, '/nonexistent/never-written.pt'), [msg]);
  throwsClearly(() => torch.saveSafetensors({ t }, '/nonexistent/never-written.safetensors'), [msg]);
}));

test('failed calls leak no tensors, and the engine still works afterwards', () => {
  const base = torch.memoryStats().liveTensors;
  scope(() => {
    for (let i = 0; i < 50; i++) {
      assert.throws(() => torch.ones([2, 3]).matmul(torch.ones([2, 3])));
      assert.throws(() => linalg.cholesky(torch.tensor([[NaN]], f64)));
      assert.throws(() => torch.ones([2]).select(0, 9));
    }
  });
  assert.equal(torch.memoryStats().liveTensors, base);
  // Sanity: ordinary work gives right answers after all the errors above.
  const result = scope(() => {
    const a = torch.tensor([[1, 2], [3, 4]], f64);
    const l = linalg.cholesky(a.matmul(a.t()));
    return { prod: a.matmul(a).toArray(), chol: l.matmul(l.t()).toArray(), conv: F.conv2d(torch.ones([1, 1, 3, 3]), torch.ones([1, 1, 2, 2])).toArray() };
  });
  assert.deepEqual(result.prod, [[7, 10], [15, 22]]);
  (result.chol as number[][]).flat().forEach((v, i) => assert.ok(Math.abs(v - [5, 11, 11, 25][i]) < 1e-12));
  assert.deepEqual(result.conv, [[[[4, 4], [4, 4]]]]);
  assert.equal(torch.isGradEnabled(), true);
  assert.equal(torch.scopeDepth(), 0);
});
