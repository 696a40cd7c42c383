// summary(): the torchinfo-like table. Counts, shapes and mult-adds are
// checked against values worked out by hand (plain layers) or by applying
// the formula to each layer's explicit kernel (orthogonal layers, which
// torchinfo reports as 0 mult-adds); forwards and train/eval modes must be
// restored, also when the forward pass throws.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { Conv2d, ConvTranspose2d, Flatten, Linear, Module, ModuleList, ReLU, Sequential } from '../src/nn/index.js';
import {
  AdaptiveOrthoConv2d, AdaptiveOrthoConvTranspose2d, BcopRkoConv2d, FastBlockConv2d, OrthoLinear, RKOConv2d, UnitNormLinear,
} from '../src/ortho/index.js';
import { SummaryError, summary } from '../src/models/summary.js';

torch.setNumThreads(1);

type Tensor = torch.Tensor;

/** Every module of the tree still uses its class's forward (no instance property left behind). */
function assertForwardsRestored(model: Module): void {
  for (const [name, m] of model.namedModules()) {
    assert.ok(!Object.prototype.hasOwnProperty.call(m, 'forward'), `forward of '${name}' (${m.typeName}) was not restored`);
  }
}

const plainNet = () => new Sequential(
  new Conv2d(3, 8, 3, { padding: 1 }),
  new ReLU(),
  new Conv2d(8, 4, 3, { stride: 2, padding: 1 }),
  new ReLU(),
  new Flatten(),
  new Linear(4 * 4 * 4, 10),
);

describe('summary of plain layers', () => {
  test('parameter counts, output shapes, mult-adds and sizes equal the hand-computed values', () => {
    const net = plainNet();
    const s = summary(net, [3, 8, 8], { batchSize: 2 });
    // Conv2d(3→8, 3×3): 8·3·9 + 8 = 224 params; output [2, 8, 8, 8]; torchinfo's mult-adds: 224 · 2·8·8.
    // Conv2d(8→4, 3×3, stride 2): 4·8·9 + 4 = 292; output [2, 4, 4, 4]; 292 · 2·4·4.
    // Linear(64→10): 640 + 10 = 650; output [2, 10]; 650 · 2.
    const expected = [
      { name: '', type: 'Sequential', depth: 0, outputShape: [2, 10], params: 1166, multAdds: 28672 + 9344 + 1300 },
      { name: '0', type: 'Conv2d', depth: 1, outputShape: [2, 8, 8, 8], params: 224, multAdds: 224 * 2 * 8 * 8 },
      { name: '1', type: 'ReLU', depth: 1, outputShape: [2, 8, 8, 8], params: 0, multAdds: 0 },
      { name: '2', type: 'Conv2d', depth: 1, outputShape: [2, 4, 4, 4], params: 292, multAdds: 292 * 2 * 4 * 4 },
      { name: '3', type: 'ReLU', depth: 1, outputShape: [2, 4, 4, 4], params: 0, multAdds: 0 },
      { name: '4', type: 'Flatten', depth: 1, outputShape: [2, 64], params: 0, multAdds: 0 },
      { name: '5', type: 'Linear', depth: 1, outputShape: [2, 10], params: 650, multAdds: 650 * 2 },
    ];
    assert.deepEqual(s.layers.map((l) => ({ name: l.name, type: l.type, depth: l.depth, outputShape: l.outputShape, params: l.params, multAdds: l.multAdds })), expected);
    assert.deepEqual(s.layers.map((l) => l.depthIndex), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(s.layers.map((l) => l.kernelParams), s.layers.map((l) => l.params), 'plain layers: explicit = raw');
    assert.deepEqual(s.layers[1].kernelShape, [8, 3, 3, 3]);
    assert.deepEqual(s.layers[6].inputShape, [2, 64]);

    const t = s.totals;
    assert.equal(t.totalParams, 1166);
    assert.equal(t.trainableParams, 1166);
    assert.equal(t.nonTrainableParams, 0);
    assert.equal(t.explicitParams, 1166);
    assert.equal(t.bufferElements, 0);
    assert.equal(t.multAdds, 28672 + 9344 + 1300);
    assert.equal(t.inputBytes, 2 * 3 * 8 * 8 * 4);
    // Leaf layers with parameters: their output bytes, twice (activations + gradients).
    assert.equal(t.forwardBackwardBytes, 2 * 4 * (2 * 8 * 8 * 8 + 2 * 4 * 4 * 4 + 2 * 10));
    assert.equal(t.paramsBytes, 1166 * 4);
    assert.equal(t.totalBytes, t.inputBytes + t.forwardBackwardBytes + t.paramsBytes);
    assert.equal(t.totalSizeMB, t.totalBytes / 1e6);
  });

  test('the text has torchinfo\'s header, tree rows and the totals lines', () => {
    const net = new Sequential(new Conv2d(3, 4, 3, { padding: 1 }), new Sequential(new ReLU(), new Flatten(), new Linear(4 * 6 * 6, 1000)));
    const { text, totals } = summary(net, [3, 6, 6]);
    assert.equal(totals.multAdds, 112 * 36 + 145000);
    const lines = text.split('\n');
    assert.match(lines[0], /^=+$/);
    assert.match(lines[1], /^Layer \(type:depth-idx\)\s+Output Shape\s+Param #\s+Kernel #$/);
    assert.equal(lines[1].indexOf('Output Shape'), 41, 'name column: 40 characters and a space, as in torchinfo');
    assert.equal(lines[1].indexOf('Param #'), 41 + 26);
    assert.ok(lines.includes(`Sequential${' '.repeat(31)}[1, 1000]${' '.repeat(17)}--${' '.repeat(24)}--`), text);
    assert.ok(lines.some((l) => /^├─Conv2d: 1-1\s+\[1, 4, 6, 6\]\s+112\s+112$/.test(l)), text);
    assert.ok(lines.some((l) => /^├─Sequential: 1-2\s+\[1, 1000\]\s+--\s+--$/.test(l)), text);
    assert.ok(lines.some((l) => /^│ {4}└─Linear: 2-3\s+\[1, 1000\]\s+145,000\s+145,000$/.test(l)), text);
    for (const line of [
      'Total params (raw): 145,112', 'Trainable params: 145,112', 'Non-trainable params: 0', 'Total params (explicit kernels): 145,112',
      'Buffers (state, not parameters): 0', 'Total mult-adds (M): 0.15', 'Input size (MB): 0.00', 'Forward/backward pass size (MB): 0.01',
      'Params size (MB): 0.58', 'Estimated Total Size (MB): 0.59',
    ]) assert.ok(lines.includes(line), `missing '${line}' in\n${text}`);
    assert.equal(lines.at(-1), lines[0]);
  });

  test('depth limit, columns and the torchinfo rule for counts above the limit', () => {
    const net = new Sequential(new Sequential(new Conv2d(1, 2, 3, { padding: 1 }), new Sequential(new Conv2d(2, 2, 1))), new Flatten());
    const deep = summary(net, [1, 4, 4], { depth: 1, columns: ['kernelShape', 'multAdds', 'params'] });
    assert.equal(deep.layers.length, 6, 'layers always lists every level');
    const rows = deep.text.split('\n');
    assert.match(rows[1], /^Layer \(type:depth-idx\)\s+Kernel Shape\s+Mult-Adds\s+Param #$/);
    assert.ok(!deep.text.includes('└─Conv2d'), 'rows deeper than the limit are hidden');
    // At the depth limit a container shows the whole count of its subtree; mult-adds are inclusive.
    const inner = (2 * 9 + 2) * 16 + (2 * 2 + 2) * 16;
    assert.ok(rows.some((l) => new RegExp(`^├─Sequential: 1-1\\s+--\\s+${inner}\\s+26$`).test(l)), deep.text);
    const all = summary(net, [1, 4, 4], { depth: Infinity });
    assert.ok(all.text.includes('│    │    └─Conv2d: 3-1'), all.text);
    assert.throws(() => summary(net, [1, 4, 4], { depth: -1 }), /depth must be a non-negative integer/);
    assert.throws(() => summary(net, [1, 4, 4], { columns: ['outputShape', 'flops' as never] }), /unknown column\(s\) flops/);
    assert.throws(() => summary(net, [0, 4]), /inputShape must be a non-empty array of positive integers/);
    assert.throws(() => summary(net, [1, 4, 4], { batchSize: 1.5 }), /batchSize must be a positive integer/);
  });

  test('transposed convolution: weight × input pixels; dtype of the model is the default input dtype', () => {
    const net = new Sequential(new ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1, dtype: 'float64' }));
    const s = summary(net, [4, 5, 5], { batchSize: 3 });
    const layer = s.layers[1];
    assert.deepEqual(layer.outputShape, [3, 2, 10, 10]);
    assert.equal(layer.multAdds, 4 * 2 * 9 * 3 * 5 * 5 + 2 * 3 * 10 * 10);
    assert.equal(s.totals.inputBytes, 3 * 4 * 5 * 5 * 8, 'float64 input for a float64 model');
    assert.equal(s.totals.paramsBytes, (4 * 2 * 9 + 2) * 8);
    assert.equal(summary(net.to('float32'), [4, 5, 5], { dtype: 'float32' }).totals.inputBytes, 4 * 5 * 5 * 4);
  });

  test('a module called twice appears per call; its parameters count once and its mult-adds twice', () => {
    class Twice extends Module {
      readonly conv = this.registerModule('conv', new Conv2d(2, 2, 1, { bias: false }));
      forward(x: Tensor): Tensor { return this.conv.forward(this.conv.forward(x)); }
    }
    const s = summary(new Twice(), [2, 3, 3]);
    assert.deepEqual(s.layers.map((l) => [l.type, l.depth, l.depthIndex, l.recursive]), [['Twice', 0, 0, false], ['Conv2d', 1, 1, false], ['Conv2d', 1, 2, true]]);
    assert.equal(s.totals.totalParams, 4);
    assert.equal(s.totals.multAdds, 2 * 4 * 9);
    assert.ok(s.text.split('\n').some((l) => /^├─Conv2d: 1-2\s+\[1, 2, 3, 3\]\s+\(recursive\)\s+\(recursive\)$/.test(l)), s.text);
  });

  test('containers that are never called themselves (ModuleList) and unused modules get rows without shapes', () => {
    class Blocks extends Module {
      readonly blocks = this.registerModule('blocks', new ModuleList([new Linear(3, 3), new Linear(3, 3)]));
      readonly unused = this.registerModule('unused', new Linear(3, 1));
      forward(x: Tensor): Tensor {
        let y = x;
        for (const b of this.blocks) y = b.forward(y) as Tensor;
        return y;
      }
    }
    const s = summary(new Blocks(), [3]);
    assert.deepEqual(s.layers.map((l) => [l.name, l.depth, l.called, l.outputShape]), [
      ['', 0, true, [1, 3]], ['blocks', 1, false, null], ['blocks.0', 2, true, [1, 3]], ['blocks.1', 2, true, [1, 3]], ['unused', 1, false, null],
    ]);
    assert.equal(s.totals.multAdds, 2 * 12);
    assert.equal(s.totals.totalParams, 2 * 12 + 4);
    assert.ok(s.text.includes('├─ModuleList: 1-1'), s.text);
  });
});

describe('summary of orthogonal layers', () => {
  const orthoNet = () => new Sequential(
    AdaptiveOrthoConv2d({ inChannels: 4, outChannels: 8, kernelSize: 3 }),
    new ReLU(),
    AdaptiveOrthoConv2d({ inChannels: 8, outChannels: 8, kernelSize: 2, stride: 2, padding: 0, bias: false }),
    AdaptiveOrthoConv2d({ inChannels: 8, outChannels: 16, kernelSize: 3, stride: 2, padding: 1 }),
    new Sequential(new Flatten(), new OrthoLinear(64, 10)),
  );

  test('mult-adds, raw and explicit counts follow each explicit kernel', () => {
    const net = orthoNet();
    const layers = [net.at(0), net.at(2), net.at(3), (net.at(4) as Sequential).at(1)] as (Module & { weight: Tensor; bias: Tensor | null })[];
    assert.ok(layers[0] instanceof FastBlockConv2d && layers[1] instanceof RKOConv2d && layers[2] instanceof BcopRkoConv2d && layers[3] instanceof OrthoLinear);
    assert.ok(layers.every((l) => l.isParametrized()), 'every layer here is parametrized');
    const before = torch.memoryStats().liveTensors;
    const s = summary(net, [4, 8, 8], { batchSize: 2 });
    assert.equal(torch.memoryStats().liveTensors, before, 'summary frees every tensor it made (caches dropped when train mode comes back)');

    // Expected values, computed without summary(): kernels under noGrad, output shapes by running each layer.
    const kernels = torch.noGrad(() => layers.map((l) => torch.scope(() => ({ shape: l.weight.shape, numel: l.weight.numel() }))));
    const outputs = torch.scope(() => torch.noGrad(() => {
      net.eval();
      let x = torch.zeros([2, 4, 8, 8]);
      const shapes: number[][] = [];
      for (const m of net) {
        x = m.forward(x) as Tensor;
        shapes.push(x.shape);
      }
      net.train();
      return shapes;
    }));
    const outOf = [outputs[0], outputs[2], outputs[3], outputs[4]];
    assert.deepEqual(outOf, [[2, 8, 8, 8], [2, 8, 4, 4], [2, 16, 2, 2], [2, 10]]);
    const biasOf = layers.map((l) => l.bias?.numel() ?? 0);
    const expectedMacs = [
      ...[0, 1, 2].map((i) => (kernels[i].numel + biasOf[i]) * outOf[i][0] * outOf[i][2] * outOf[i][3]),
      (kernels[3].numel + biasOf[3]) * 2,
    ];
    assert.deepEqual(kernels.map((k) => k.shape), [[8, 4, 3, 3], [8, 8, 2, 2], [16, 8, 3, 3], [10, 64]]);
    const rows = ['0', '2', '3', '4.1'].map((name) => s.layers.find((l) => l.name === name)!);
    assert.deepEqual(rows.map((r) => r.multAdds), expectedMacs);
    assert.ok(expectedMacs.every((m) => m > 0));
    assert.equal(s.totals.multAdds, expectedMacs.reduce((a, b) => a + b, 0));
    assert.deepEqual(rows.map((r) => r.kernelShape), kernels.map((k) => k.shape));
    assert.deepEqual(rows.map((r) => r.kernelParams), kernels.map((k, i) => k.numel + biasOf[i]));

    // Raw count: the parametrization originals and the biases, nothing else.
    let originals = 0;
    let biases = 0;
    for (const [name, p] of net.namedParameters()) {
      if (name.endsWith('.original')) originals += p.numel();
      else if (name.endsWith('.bias')) biases += p.numel();
      else assert.fail(`unexpected parameter ${name}`);
    }
    assert.equal(s.totals.totalParams, originals + biases);
    assert.equal(s.totals.trainableParams, originals + biases);
    assert.equal(s.totals.explicitParams, kernels.reduce((n, k) => n + k.numel, 0) + biases);
    assert.notEqual(s.totals.explicitParams, s.totals.totalParams, 'BCOP stores fewer raw values than its kernel has');
    assert.deepEqual(rows.map((r) => r.params), layers.map((l) => l.numParameters()));
    assert.equal(s.totals.bufferElements, net.buffers().reduce((n, b) => n + b.numel(), 0));
    assert.ok(s.totals.bufferElements > 0, 'power-iteration vectors are buffers, reported apart');
    assert.equal(s.totals.paramsBytes, (originals + biases) * 4);

    // Parametrization internals are not layers.
    assert.ok(s.layers.every((l) => !l.name.includes('parametrizations')));
    assert.deepEqual(s.layers.map((l) => l.type), ['Sequential', 'FastBlockConv2d', 'ReLU', 'RKOConv2d', 'BcopRkoConv2d', 'Sequential', 'Flatten', 'OrthoLinear']);
    assert.ok(!/Total mult-adds \(M\): 0\.00/.test(s.text) && s.text.includes(`Total params (explicit kernels): ${s.totals.explicitParams.toLocaleString('en-US')}`), s.text);
    assert.ok(s.totals.paramsSizeMB > 0 && s.totals.forwardBackwardBytes > 0);
    assertForwardsRestored(net);
    assert.ok(net.modules().every((m) => m.training), 'train mode restored');
  });

  test('orthogonal transposed convolutions and UnitNormLinear', () => {
    const up = AdaptiveOrthoConvTranspose2d({ inChannels: 8, outChannels: 4, kernelSize: 2, stride: 2 });
    const net = new Sequential(up, new Flatten(), new UnitNormLinear(4 * 8 * 8, 3));
    const s = summary(net, [8, 4, 4]);
    const w = torch.noGrad(() => torch.scope(() => up.weight.numel()));
    assert.equal(s.layers[1].multAdds, w * 4 * 4 + 4 * 8 * 8, 'transposed: kernel × input pixels + bias × output pixels');
    assert.equal(s.layers[3].multAdds, (3 * 256 + 3));
    assertForwardsRestored(net);
  });
});

describe('restoring the model', () => {
  test('forwards (own ones too) and per-module train/eval modes come back', () => {
    const net = plainNet();
    net.at(1).eval();
    const custom = function customForward(this: Module, x: Tensor): Tensor { return x.relu(); };
    const relu = net.at(3);
    relu.forward = custom;
    summary(net, [3, 8, 8]);
    assert.equal(relu.forward, custom, 'an instance forward is put back');
    for (const [name, m] of net.namedModules()) {
      if (m !== relu) assert.ok(!Object.prototype.hasOwnProperty.call(m, 'forward'), name);
      assert.equal(m.training, name !== '1', `mode of '${name}'`);
    }
    net.eval();
    summary(net, [3, 8, 8]);
    assert.ok(net.modules().every((m) => !m.training), 'eval stays eval');
  });

  test('an error in the forward pass propagates with the layer named, and the model is restored', () => {
    class Broken extends Module {
      forward(): Tensor { throw new RangeError('boom: cannot handle this input'); }
    }
    const net = new Sequential(new Conv2d(3, 4, 3), new Sequential(new ReLU(), new Broken()));
    let caught: unknown;
    try {
      summary(net, [3, 6, 6]);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof SummaryError, String(caught));
    assert.match(caught.message, /forward pass failed in Broken \('1\.1'\) on input \[1, 4, 4, 4\]: boom: cannot handle this input/);
    assert.ok(caught.cause instanceof RangeError);
    assert.equal(caught.modulePath, '1.1');
    assertForwardsRestored(net);
    assert.ok(net.modules().every((m) => m.training), 'train mode restored after the error');

    // A shape error from a real layer reads the same way.
    const wrong = new Sequential(new Flatten(), new Linear(10, 2));
    assert.throws(() => summary(wrong, [3, 4]), (e: unknown) => e instanceof SummaryError &&
      /Linear \('1'\) on input \[1, 12\]: Linear\(10 → 2\): input has 12 features/.test(e.message));
    assertForwardsRestored(wrong);
  });
});
