// save/load (.pt) and safetensors: round trips, metadata, clear errors for
// damaged files, and atomic writes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { torch } from '../src/index.js';

const { scope } = torch;
type Tensor = torch.Tensor;
let dir = '';

before(() => { dir = mkdtempSync(join(tmpdir(), 'ortho-serial-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

const noTempFiles = (): void => {
  const leftovers = readdirSync(dir).filter((n) => n.endsWith('.tmp'));
  assert.deepEqual(leftovers, [], 'no temporary files are left behind');
};

/** Same dtype, shape and exactly the same elements. */
function assertSameTensor(actual: unknown, expected: Tensor, what: string): void {
  assert.ok(actual instanceof torch.Tensor, `${what} is a tensor`);
  const t = actual as Tensor;
  assert.equal(t.dtype, expected.dtype, `${what} dtype`);
  assert.deepEqual(t.shape, expected.shape, `${what} shape`);
  assert.deepEqual(t.dataSync(), expected.dataSync(), `${what} data`);
}

test('save/load round trip of a state-dict-like Map with several dtypes and nested values', () => scope(() => {
  torch.manualSeed(11);
  const tensors = {
    weight: torch.randn([3, 4], { dtype: 'float64' }),
    bias: torch.randn([3]),
    steps: torch.tensor([2 ** 40 + 3, -5], { dtype: 'int64' }),
    half: torch.tensor([1.5, -2.25, 3.140625], { dtype: 'bfloat16' }),
    f16: torch.tensor([0.5, 65504], { dtype: 'float16' }),
    mask: torch.tensor([true, false, true]),
    bytes: torch.tensor(new Uint8Array([0, 7, 255])),
    i32: torch.tensor([[1, -2], [3, 4]], { dtype: 'int32' }),
    scalar: torch.tensor(2.5, { dtype: 'float64' }),
    empty: torch.zeros([0, 3]),
  };
  const state = new Map<string, torch.Saveable>(Object.entries(tensors));
  state.set('meta', { epoch: 7, lr: 0.001, name: 'run-é', done: false, none: null, shape: [3, 4], nested: new Map([['deep', tensors.bias]]) });
  // Optimizer states are keyed by parameter index: integer keys must stay integers.
  state.set('optimizer', new Map<string | number, torch.Saveable>([[0, { step: 3, expAvg: tensors.bias }], [1, { step: 3 }]]));
  const path = join(dir, 'state.pt');
  torch.save(state, path);
  noTempFiles();
  const loaded = torch.load(path);
  assert.ok(loaded instanceof Map);
  const m = loaded as Map<unknown, unknown>;
  assert.deepEqual([...m.keys()], [...state.keys()], 'key order is kept');
  for (const [name, t] of Object.entries(tensors)) assertSameTensor(m.get(name), t, name);
  const meta = m.get('meta') as Map<string, unknown>;
  assert.ok(meta instanceof Map);
  assert.equal(meta.get('epoch'), 7);
  assert.equal(meta.get('lr'), 0.001);
  assert.equal(meta.get('name'), 'run-é');
  assert.equal(meta.get('done'), false);
  assert.equal(meta.get('none'), null);
  assert.deepEqual(meta.get('shape'), [3, 4]);
  assertSameTensor((meta.get('nested') as Map<string, unknown>).get('deep'), tensors.bias, 'nested tensor');
  const optimizer = m.get('optimizer') as Map<unknown, Map<string, unknown>>;
  assert.deepEqual([...optimizer.keys()], [0, 1], 'integer keys stay integers');
  assert.equal(optimizer.get(1)!.get('step'), 3);
  assertSameTensor(optimizer.get(0)!.get('expAvg'), tensors.bias, 'optimizer state tensor');
  // Loaded tensors are independent copies.
  const w = m.get('weight') as Tensor;
  w.fill_(0);
  assert.notDeepEqual(tensors.weight.toFlatArray(), w.toFlatArray());
  // loadStateDictFile gives a flat name -> tensor Map, and names what is not a tensor.
  const flatPath = join(dir, 'flat.pt');
  torch.save(new Map([['a', tensors.weight], ['b', tensors.steps]]), flatPath);
  const sd = torch.loadStateDictFile(flatPath);
  assert.deepEqual([...sd.keys()], ['a', 'b']);
  assertSameTensor(sd.get('b'), tensors.steps, 'state dict entry');
  assert.throws(() => torch.loadStateDictFile(path), /entry 'meta' is a dict, not a tensor/);
  torch.save([tensors.bias], join(dir, 'list.pt'));
  assert.throws(() => torch.loadStateDictFile(join(dir, 'list.pt')), /expected a state dict/);
  noTempFiles();
}));

test('save keeps views as their own values and tensors shared between entries', () => scope(() => {
  const base = torch.arange(12, undefined, 1, { dtype: 'float32' }).reshape(3, 4);
  const path = join(dir, 'views.pt');
  torch.save({ col: base.select(1, 2), t: base.t(), strided: base.slice(1, 0, 4, 2), again: base, base }, path);
  const m = torch.load(path) as Map<string, Tensor>;
  assert.deepEqual(m.get('col')!.toArray(), [2, 6, 10]);
  assert.deepEqual(m.get('t')!.toArray(), [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]);
  assert.deepEqual(m.get('strided')!.toArray(), [[0, 2], [4, 6], [8, 10]]);
  assert.deepEqual(m.get('again')!.toArray(), m.get('base')!.toArray());
}));

test('save refuses values it cannot represent, naming where they are, and writes nothing', () => scope(() => {
  const path = join(dir, 'refused.pt');
  assert.throws(() => torch.save({ ok: 1, f: (() => 1) as unknown as number }, path), /value\.f is a function/);
  assert.throws(() => torch.save({ list: [1, new Float32Array(2) as unknown as number] }, path), /value\.list\[1\] is a Float32Array/);
  assert.throws(() => torch.save({ when: new Date() as unknown as number }, path), /value\.when is a Date/);
  const gone = torch.ones([1]);
  gone.dispose();
  assert.throws(() => torch.save({ gone }, path), /disposed/);
  assert.equal(existsSync(path), false);
  noTempFiles();
}));

test('load gives clear errors for files that are not torch.save archives', () => scope(() => {
  const text = join(dir, 'notes.pt');
  writeFileSync(text, 'these are not the tensors you are looking for\n'.repeat(5));
  assert.throws(() => torch.load(text), (e: Error) => e instanceof Error && e.message.includes(text) && /not a valid zip|not a torch.save/.test(e.message));
  const good = join(dir, 'good.pt');
  torch.save({ w: torch.randn([64]) }, good);
  const bytes = readFileSync(good);
  const truncated = join(dir, 'truncated.pt');
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  assert.throws(() => torch.load(truncated), /truncated\.pt.*(zip|truncated|damaged)/);
  const empty = join(dir, 'empty.pt');
  writeFileSync(empty, '');
  assert.throws(() => torch.load(empty), /empty\.pt/);
  assert.throws(() => torch.load(join(dir, 'missing.pt')), /cannot read .*missing\.pt: ENOENT/);
  // A safetensors file is not a .pt file either.
  const st = join(dir, 'weights.safetensors');
  torch.saveSafetensors({ a: torch.ones([2]) }, st);
  assert.throws(() => torch.load(st), /weights\.safetensors/);
}));

test('safetensors round trip with metadata, many dtypes, non-contiguous input and aligned data', () => scope(() => {
  torch.manualSeed(12);
  const tensors = new Map<string, Tensor>([
    ['w', torch.randn([2, 3], { dtype: 'float64' })],
    ['b', torch.randn([5])],
    ['bf', torch.tensor([1.5, -0.25], { dtype: 'bfloat16' })],
    ['h', torch.tensor([0.5, -3], { dtype: 'float16' })],
    ['steps', torch.tensor([1, 2 ** 40], { dtype: 'int64' })],
    ['i32', torch.tensor([-1, 2], { dtype: 'int32' })],
    ['i16', torch.tensor([-300, 2], { dtype: 'int16' })],
    ['i8', torch.tensor([-7, 2], { dtype: 'int8' })],
    ['u8', torch.tensor([250, 2], { dtype: 'uint8' })],
    ['mask', torch.tensor([true, false])],
    ['scalar', torch.tensor(3)],
    ['transposed', torch.arange(6, undefined, 1, { dtype: 'float32' }).reshape(2, 3).t()],
    ['schön.gewicht', torch.ones([1])],
  ]);
  const metadata = { format: 'pt', epoch: '3', note: 'dé' };
  const path = join(dir, 'model.safetensors');
  torch.saveSafetensors(tensors, path, metadata);
  noTempFiles();
  // The layout by hand: u64 header length, JSON header, data; the data starts 8-byte aligned.
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + headerLength) % 8, 0, 'data section is 8-byte aligned even with non-ASCII names');
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  assert.deepEqual(header.__metadata__, metadata);
  assert.deepEqual(header.w, { dtype: 'F64', shape: [2, 3], data_offsets: header.w.data_offsets });
  assert.equal(header.w.data_offsets[1] - header.w.data_offsets[0], 48);
  assert.equal(header.bf.dtype, 'BF16');
  assert.equal(header.mask.dtype, 'BOOL');
  assert.deepEqual(header.scalar.shape, []);
  // The float64 bytes are the little-endian IEEE values.
  const start = 8 + headerLength + header.w.data_offsets[0];
  const wBytes = new Float64Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + 48));
  assert.deepEqual([...wBytes], tensors.get('w')!.toFlatArray());

  const loaded = torch.loadSafetensors(path);
  assert.deepEqual(loaded.metadata, metadata);
  assert.deepEqual([...loaded.tensors.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) assertSameTensor(loaded.tensors.get(name), t.contiguous(), name);
  assert.deepEqual(loaded.tensors.get('transposed')!.toArray(), [[0, 3], [1, 4], [2, 5]]);
  // Without metadata there is no __metadata__ entry.
  const plain = join(dir, 'plain.safetensors');
  torch.saveSafetensors({ x: torch.zeros([2]) }, plain);
  assert.deepEqual(torch.loadSafetensors(plain).metadata, {});
  assert.throws(() => torch.saveSafetensors({ c: torch.fft.fft(torch.ones([2])) }, join(dir, 'complex.safetensors')), /complex64.*cannot store/);
  assert.equal(existsSync(join(dir, 'complex.safetensors')), false);
  noTempFiles();
}));

test('corrupt or truncated safetensors files give clear errors', () => scope(() => {
  const path = join(dir, 'ok.safetensors');
  torch.saveSafetensors({ a: torch.ones([4, 4]), b: torch.zeros([3]) }, path);
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const write = (name: string, data: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  };
  const withHeader = (header: unknown, data = new Uint8Array(0)): Buffer => {
    const json = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([prefix, json, data]);
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['tiny.safetensors', bytes.subarray(0, 5), /shorter than the 8-byte header length/],
    ['cut-header.safetensors', bytes.subarray(0, 8 + Math.floor(headerLength / 2)), /header length \d+ exceeds the file size/],
    ['cut-data.safetensors', bytes.subarray(0, bytes.length - 10), /runs past the end of the file \(truncated\?\)/],
    ['bad-json.safetensors', withHeader('x').fill(0x7b, 8), /header is not valid JSON/],
    ['array.safetensors', withHeader([1, 2]), /header is not a JSON object/],
    ['dtype.safetensors', withHeader({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /unsupported dtype 'F8'/],
    ['size.safetensors', withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(8)), /holds 4 bytes but shape \[2\] of F32 needs 8/],
    ['negative.safetensors', withHeader({ a: { dtype: 'U8', shape: [4], data_offsets: [-4, 0] } }, new Uint8Array(8)), /'a' has a malformed entry/],
    ['shape.safetensors', withHeader({ a: { dtype: 'U8', shape: [-2, -2], data_offsets: [0, 4] } }, new Uint8Array(8)), /'a' has a malformed entry/],
    ['entry.safetensors', withHeader({ a: 5 }), /'a' has a malformed entry/],
  ];
  const base = torch.memoryStats().liveTensors;
  for (const [name, data, message] of cases) {
    const p = write(name, data);
    assert.throws(() => torch.loadSafetensors(p), (e: Error) => {
      assert.match(e.message, message, name);
      assert.ok(e.message.includes(name), `${name}: the message names the file`);
      return true;
    });
  }
  assert.equal(torch.memoryStats().liveTensors, base, 'tensors read before the error are freed');
  // A .pt file is not a safetensors file.
  const pt = join(dir, 'model.pt');
  torch.save({ a: torch.ones([2]) }, pt);
  assert.throws(() => torch.loadSafetensors(pt), /model\.pt\): (header length|header is not)/);
}));

test('writes are atomic: a failed save leaves the previous file intact and no temporary files', () => scope(() => {
  const path = join(dir, 'checkpoint.pt');
  torch.save({ step: 1, w: torch.ones([3]) }, path);
  const before = readFileSync(path);
  const gone = torch.ones([1]);
  gone.dispose();
  assert.throws(() => torch.save({ step: 2, w: gone }, path), /disposed/);
  assert.deepEqual(readFileSync(path), before, 'the old checkpoint is untouched');
  const st = join(dir, 'checkpoint.safetensors');
  torch.saveSafetensors({ w: torch.ones([3]) }, st);
  const stBefore = readFileSync(st);
  assert.throws(() => torch.saveSafetensors({ w: torch.ones([3]), c: torch.fft.fft(torch.ones([2])) }, st), /cannot store/);
  assert.deepEqual(readFileSync(st), stBefore);
  // A missing folder is an error naming it; nothing is created.
  assert.throws(() => torch.save({ a: 1 }, join(dir, 'no-such-folder', 'x.pt')), /ENOENT/);
  assert.throws(() => torch.saveSafetensors({ a: torch.ones([1]) }, join(dir, 'no-such-folder', 'x.safetensors')), /ENOENT/);
  // Overwriting many times leaves exactly the final files in the folder.
  for (let i = 0; i < 5; i++) torch.save({ step: i }, path);
  assert.equal((torch.load(path) as Map<string, unknown>).get('step'), 4);
  noTempFiles();
  assert.ok(readdirSync(dir).includes('checkpoint.pt'));
}));
