// F.interpolate and nn.Upsample over 3D, 4D and 5D inputs against PyTorch
// 1.13 (python3-torch) in float64: every mode for every rank it takes
// ('nearest', 'nearest-exact', 'area' for all; 'linear' 3D; 'bilinear',
// 'bicubic' 4D, antialiased too; 'trilinear' 5D), size or scaleFactor as a
// number or per dim, alignCorners, recomputeScaleFactor — outputs and input
// gradients; finite differences for the antialiased modes; PyTorch's
// validation rules (each bad call also fails in PyTorch); no leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, nn } from '../src/index.js';
import { gradcheck, randomTensor } from './helpers/gradcheck.js';
import { RUN_STEPS_PY, assertMatchesTorch, assertStepsMatch, describe, hasTorch, runTorch, skipWithoutTorch, stepsSpec } from './helpers/pytorch.js';
import type { ModuleStep } from './helpers/pytorch.js';

const { F } = torch;
type Tensor = torch.Tensor;
type Options = Parameters<typeof F.interpolate>[1];

let seed = 900;
const rnd = (shape: number[], lo = -1, hi = 1): Tensor => torch.keep(randomTensor(shape, seed++, lo, hi));

/** The projection of an output for its gradient: the same formula in Python, so the output shape need not be known in advance. */
const projection = (shape: number[]): Tensor => torch.scope(() => {
  const n = shape.reduce((a, b) => a * b, 1);
  return torch.arange(n, undefined, 1, { dtype: 'float64' }).mul(0.37).add(0.1).sin().reshape(shape);
});
const PROJECTION_PY = `
def projection(shape):
    n = 1
    for s in shape: n *= s
    return torch.sin(torch.arange(n, dtype=torch.float64) * 0.37 + 0.1).reshape(shape)
`;

interface Case { x: Tensor; options: Options; py: string }
const cases: Record<string, Case> = {};
const add = (name: string, shape: number[], options: Options, py: string): void => { cases[name] = { x: rnd(shape, -3, 3), options, py }; };

// 3D [N, C, L]
add('3d_nearest_scale', [2, 3, 5], { scaleFactor: 2 }, 'scale_factor=2');
add('3d_nearest_scale_fraction', [2, 2, 6], { scaleFactor: 1.7 }, 'scale_factor=1.7');
add('3d_nearest_size', [1, 2, 5], { size: 7 }, 'size=7');
add('3d_nearest_size_list', [1, 2, 9], { size: [4] }, 'size=[4]');
add('3d_nearest_exact_scale', [2, 2, 7], { scaleFactor: 0.6, mode: 'nearest-exact' }, "scale_factor=0.6, mode='nearest-exact'");
add('3d_nearest_exact_size', [1, 3, 4], { size: 9, mode: 'nearest-exact' }, "size=9, mode='nearest-exact'");
add('3d_linear_size', [2, 3, 5], { size: 9, mode: 'linear' }, "size=9, mode='linear'");
add('3d_linear_corners', [2, 2, 5], { scaleFactor: 1.5, mode: 'linear', alignCorners: true }, "scale_factor=1.5, mode='linear', align_corners=True");
add('3d_linear_down', [1, 2, 11], { scaleFactor: [0.45], mode: 'linear' }, "scale_factor=[0.45], mode='linear'");
add('3d_linear_recompute', [1, 2, 7], { scaleFactor: 1.3, mode: 'linear', recomputeScaleFactor: true }, "scale_factor=1.3, mode='linear', recompute_scale_factor=True");
add('3d_area_size', [2, 3, 10], { size: 3, mode: 'area' }, "size=3, mode='area'");
add('3d_area_scale', [1, 2, 9], { scaleFactor: 0.5, mode: 'area' }, "scale_factor=0.5, mode='area'");
// 4D [N, C, H, W]
add('4d_nearest_recompute', [1, 2, 5, 6], { scaleFactor: 1.3, recomputeScaleFactor: true }, 'scale_factor=1.3, recompute_scale_factor=True');
add('4d_nearest_no_recompute', [1, 2, 5, 6], { scaleFactor: 1.3, recomputeScaleFactor: false }, 'scale_factor=1.3, recompute_scale_factor=False');
add('4d_nearest_exact_scale', [2, 2, 4, 6], { scaleFactor: [1.5, 0.75], mode: 'nearest-exact' }, "scale_factor=(1.5, 0.75), mode='nearest-exact'");
add('4d_nearest_exact_size', [1, 3, 5, 4], { size: [3, 7], mode: 'nearest-exact' }, "size=(3, 7), mode='nearest-exact'");
add('4d_bilinear_aa_down', [2, 3, 9, 11], { size: [4, 5], mode: 'bilinear', antialias: true }, "size=(4, 5), mode='bilinear', antialias=True");
add('4d_bilinear_aa_corners', [1, 2, 10, 7], { size: [3, 4], mode: 'bilinear', alignCorners: true, antialias: true },
  "size=(3, 4), mode='bilinear', align_corners=True, antialias=True");
add('4d_bilinear_aa_scale', [1, 2, 12, 9], { scaleFactor: [0.4, 0.7], mode: 'bilinear', antialias: true }, "scale_factor=(0.4, 0.7), mode='bilinear', antialias=True");
add('4d_bilinear_aa_mixed', [1, 2, 8, 3], { size: [3, 7], mode: 'bilinear', antialias: true }, "size=(3, 7), mode='bilinear', antialias=True");
add('4d_bicubic_aa_down', [2, 2, 11, 9], { size: [4, 3], mode: 'bicubic', antialias: true }, "size=(4, 3), mode='bicubic', antialias=True");
add('4d_bicubic_aa_scale_recompute', [1, 2, 13, 10], { scaleFactor: 0.35, mode: 'bicubic', antialias: true, recomputeScaleFactor: true },
  "scale_factor=0.35, mode='bicubic', antialias=True, recompute_scale_factor=True");
add('4d_bicubic_aa_up', [1, 1, 4, 5], { scaleFactor: 1.6, mode: 'bicubic', antialias: true }, "scale_factor=1.6, mode='bicubic', antialias=True");
add('4d_area_scale', [1, 2, 7, 9], { scaleFactor: [0.5, 0.4], mode: 'area' }, "scale_factor=(0.5, 0.4), mode='area'");
// 5D [N, C, D, H, W]
add('5d_nearest_scale', [1, 2, 2, 3, 2], { scaleFactor: 2 }, 'scale_factor=2');
add('5d_nearest_size', [2, 1, 3, 4, 2], { size: [4, 3, 5] }, 'size=(4, 3, 5)');
add('5d_nearest_scale_list', [1, 2, 4, 3, 5], { scaleFactor: [0.5, 1.5, 1.2] }, 'scale_factor=(0.5, 1.5, 1.2)');
add('5d_nearest_exact', [1, 2, 3, 5, 4], { scaleFactor: [1.5, 0.6, 2], mode: 'nearest-exact' }, "scale_factor=(1.5, 0.6, 2), mode='nearest-exact'");
add('5d_nearest_exact_size', [1, 1, 4, 4, 4], { size: 3, mode: 'nearest-exact' }, "size=3, mode='nearest-exact'");
add('5d_trilinear_size', [2, 2, 3, 4, 3], { size: [4, 5, 6], mode: 'trilinear' }, "size=(4, 5, 6), mode='trilinear'");
add('5d_trilinear_corners', [1, 2, 3, 3, 4], { scaleFactor: 1.5, mode: 'trilinear', alignCorners: true }, "scale_factor=1.5, mode='trilinear', align_corners=True");
add('5d_trilinear_down_recompute', [1, 1, 5, 6, 7], { scaleFactor: [0.6, 0.5, 0.45], mode: 'trilinear', recomputeScaleFactor: true },
  "scale_factor=(0.6, 0.5, 0.45), mode='trilinear', recompute_scale_factor=True");
add('5d_trilinear_down', [1, 1, 5, 6, 7], { scaleFactor: [0.6, 0.5, 0.45], mode: 'trilinear' }, "scale_factor=(0.6, 0.5, 0.45), mode='trilinear'");
add('5d_area_size', [2, 2, 5, 4, 6], { size: [2, 2, 3], mode: 'area' }, "size=(2, 2, 3), mode='area'");
add('5d_area_scale', [1, 2, 6, 5, 7], { scaleFactor: [0.5, 0.5, 0.7], mode: 'area' }, "scale_factor=(0.5, 0.5, 0.7), mode='area'");

/** Calls that PyTorch refuses too: ours must throw a message matching `message`. */
interface BadCall { shape: number[]; options: Options; py: string; message: RegExp }
const bad: Record<string, BadCall> = {
  bilinear_3d: { shape: [1, 2, 5], options: { size: 4, mode: 'bilinear' }, py: "size=4, mode='bilinear'",
    message: /interpolate: mode 'bilinear' needs a 4D input \[N, C, H, W\], got 3D input of shape \[1, 2, 5\]/ },
  trilinear_4d: { shape: [1, 2, 5, 5], options: { size: 4, mode: 'trilinear' }, py: "size=4, mode='trilinear'",
    message: /mode 'trilinear' needs a 5D input \[N, C, D, H, W\], got 4D input/ },
  linear_5d: { shape: [1, 1, 2, 2, 2], options: { size: 4, mode: 'linear' }, py: "size=4, mode='linear'", message: /mode 'linear' needs a 3D input \[N, C, L\], got 5D input/ },
  bicubic_5d: { shape: [1, 1, 2, 2, 2], options: { size: 4, mode: 'bicubic' }, py: "size=4, mode='bicubic'", message: /mode 'bicubic' needs a 4D input \[N, C, H, W\], got 5D/ },
  rank_2: { shape: [3, 4], options: { size: 4 }, py: 'size=4', message: /expected a 3D, 4D or 5D input \[N, C, L\], \[N, C, H, W\] or \[N, C, D, H, W\], got 2D input of shape \[3, 4\]/ },
  rank_6: { shape: [1, 1, 2, 2, 2, 2], options: { scaleFactor: 2 }, py: 'scale_factor=2', message: /expected a 3D, 4D or 5D input .* got 6D/ },
  size_length: { shape: [1, 2, 4, 4], options: { size: [3, 3, 3] }, py: 'size=(3, 3, 3)',
    message: /size \[3, 3, 3\] must have one entry per spatial dimension of the input, which has 2 \(\[4, 4\] of shape \[1, 2, 4, 4\]\)/ },
  scale_length: { shape: [1, 2, 4, 4, 4], options: { scaleFactor: [2, 2] }, py: 'scale_factor=(2, 2)', message: /scaleFactor \[2, 2\] must have one entry per spatial dimension .* which has 3/ },
  both: { shape: [1, 1, 4], options: { size: 3, scaleFactor: 2 }, py: 'size=3, scale_factor=2', message: /give exactly one of size and scaleFactor/ },
  neither: { shape: [1, 1, 4], options: {}, py: '', message: /give exactly one of size and scaleFactor/ },
  corners_nearest: { shape: [1, 1, 4], options: { size: 3, alignCorners: true }, py: 'size=3, align_corners=True',
    message: /alignCorners can only be set with the interpolating modes 'linear', 'bilinear', 'bicubic' and 'trilinear', got mode 'nearest'/ },
  corners_exact: { shape: [1, 1, 4, 4], options: { size: 3, mode: 'nearest-exact', alignCorners: false }, py: "size=3, mode='nearest-exact', align_corners=False",
    message: /alignCorners can only be set .* got mode 'nearest-exact'/ },
  corners_area: { shape: [1, 1, 4, 4, 4], options: { size: 3, mode: 'area', alignCorners: false }, py: "size=3, mode='area', align_corners=False", message: /got mode 'area'/ },
  recompute_size: { shape: [1, 1, 4], options: { size: 3, recomputeScaleFactor: true }, py: 'size=3, recompute_scale_factor=True',
    message: /recomputeScaleFactor is not meaningful with an explicit size/ },
  antialias_nearest: { shape: [1, 1, 4, 4], options: { size: 3, antialias: true }, py: 'size=3, antialias=True',
    message: /antialias is only supported with modes 'bilinear' and 'bicubic', got mode 'nearest'/ },
  antialias_trilinear: { shape: [1, 1, 4, 4, 4], options: { size: 3, mode: 'trilinear', antialias: true }, py: "size=3, mode='trilinear', antialias=True",
    message: /antialias is only supported .* got mode 'trilinear'/ },
  antialias_area: { shape: [1, 1, 4, 4], options: { size: 3, mode: 'area', antialias: true }, py: "size=3, mode='area', antialias=True", message: /got mode 'area'/ },
  zero_size: { shape: [1, 1, 4], options: { size: 0 }, py: 'size=0', message: /size must be a positive integer or a list of them, got 0/ },
  mode_unknown: { shape: [1, 1, 4], options: { size: 3, mode: 'lanczos' as 'nearest' }, py: "size=3, mode='lanczos'", message: /mode must be one of .* got 'lanczos'/ },
};

// nn.Upsample: the module over each rank (PyTorch 1.13's nn.Upsample has no antialias: that one is compared with F.interpolate below).
interface ModuleCase { ours: nn.Module; python: string; steps: ModuleStep[] }
const modules: Record<string, ModuleCase> = {};
const eval1 = (inShape: number[], outShape: number[]): ModuleStep => ({ x: rnd(inShape, -2, 2), proj: rnd(outShape), train: false });
modules.Upsample_linear = { ours: new nn.Upsample({ scaleFactor: 2, mode: 'linear' }), python: "nn.Upsample(scale_factor=2, mode='linear')", steps: [eval1([2, 3, 4], [2, 3, 8])] };
modules.Upsample_linear_corners = { ours: new nn.Upsample({ size: 7, mode: 'linear', alignCorners: true }), python: "nn.Upsample(size=7, mode='linear', align_corners=True)",
  steps: [eval1([1, 2, 4], [1, 2, 7])] };
modules.Upsample_nearest_3d = { ours: new nn.Upsample({ size: 6 }), python: 'nn.Upsample(size=6)', steps: [eval1([1, 2, 4], [1, 2, 6])] };
modules.Upsample_nearest_5d = { ours: new nn.Upsample({ scaleFactor: [1, 2, 1.5] }), python: 'nn.Upsample(scale_factor=(1, 2, 1.5))', steps: [eval1([1, 2, 2, 2, 2], [1, 2, 2, 4, 3])] };
modules.Upsample_exact_4d = { ours: new nn.Upsample({ scaleFactor: 1.5, mode: 'nearest-exact' }), python: "nn.Upsample(scale_factor=1.5, mode='nearest-exact')",
  steps: [eval1([2, 1, 3, 4], [2, 1, 4, 6])] };
modules.Upsample_trilinear = { ours: new nn.Upsample({ size: [3, 4, 5], mode: 'trilinear' }), python: "nn.Upsample(size=(3, 4, 5), mode='trilinear')",
  steps: [eval1([1, 2, 2, 3, 3], [1, 2, 3, 4, 5])] };
modules.Upsample_trilinear_recompute = {
  ours: new nn.Upsample({ scaleFactor: 1.3, mode: 'trilinear', alignCorners: false, recomputeScaleFactor: true }),
  python: "nn.Upsample(scale_factor=1.3, mode='trilinear', align_corners=False, recompute_scale_factor=True)", steps: [eval1([1, 1, 3, 4, 5], [1, 1, 3, 5, 6])],
};
modules.Upsample_area_5d = { ours: new nn.Upsample({ size: [2, 3, 2], mode: 'area' }), python: "nn.Upsample(size=(2, 3, 2), mode='area')", steps: [eval1([1, 2, 4, 5, 4], [1, 2, 2, 3, 2])] };

const reference = hasTorch ? runTorch(`${RUN_STEPS_PY}${PROJECTION_PY}
out['cases'] = {}
for name, c in inp['cases'].items():
    x = T(c['x'], True)
    y = eval('F.interpolate(x, ' + c['py'] + ')')
    (y * projection(list(y.shape))).sum().backward()
    out['cases'][name] = {'y': J(y), 'xGrad': J(x.grad)}
out['bad'] = {}
for name, c in inp['bad'].items():
    try:
        eval('F.interpolate(torch.zeros(c["shape"]), ' + c['py'] + ')')
        out['bad'][name] = None
    except Exception as e:
        out['bad'][name] = type(e).__name__ + ': ' + str(e)
out['modules'] = {name: run_steps(eval(spec['python']), spec) for name, spec in inp['modules'].items()}
`, {
  cases: Object.fromEntries(Object.entries(cases).map(([name, c]) => [name, { x: describe(c.x), py: c.py }])),
  bad: Object.fromEntries(Object.entries(bad).map(([name, c]) => [name, { shape: c.shape, py: c.py }])),
  modules: Object.fromEntries(Object.entries(modules).map(([name, c]) => [name, { python: c.python, ...(stepsSpec(c.ours, c.steps) as object) }])),
}) : null;

for (const [name, c] of Object.entries(cases)) {
  test(`interpolate ${name}: output and input gradient match PyTorch`, { skip: skipWithoutTorch }, () => torch.scope(() => {
    const x = c.x.detach().requiresGrad_(true);
    const y = F.interpolate(x, c.options);
    y.mul(projection(y.shape)).sum().backward();
    const want = reference.cases[name];
    assertMatchesTorch(y, want.y, undefined, `${name} output`);
    assertMatchesTorch(x.grad!, want.xGrad, undefined, `${name} input grad`);
  }));
}

for (const name of Object.keys(modules)) {
  test(`${name}: output and input gradient match PyTorch's nn.Upsample`, { skip: skipWithoutTorch }, () => {
    const c = modules[name];
    assertStepsMatch(c.ours, c.steps, reference.modules[name], undefined, name);
  });
}

test('bad calls are refused with messages naming the problem, where PyTorch refuses them too', () => {
  for (const [name, c] of Object.entries(bad)) {
    torch.scope(() => assert.throws(() => F.interpolate(torch.zeros(c.shape), c.options), c.message, name));
    if (reference) assert.notEqual(reference.bad[name], null, `${name}: PyTorch accepted it`);
  }
  // Upsample checks the options when built and the input's rank in forward, naming itself.
  assert.throws(() => new nn.Upsample({ size: 3, antialias: true }), /Upsample: antialias is only supported with modes 'bilinear' and 'bicubic', got mode 'nearest'/);
  assert.throws(() => new nn.Upsample({ size: 3, recomputeScaleFactor: true }), /Upsample: recomputeScaleFactor is not meaningful with an explicit size/);
  assert.throws(() => new nn.Upsample({ size: [2, 0] }), /Upsample: size must be a positive integer or a list of them, got \[2,0\]/);
  assert.throws(() => new nn.Upsample({ scaleFactor: [2, NaN] }), /Upsample: scaleFactor must be finite and > 0/);
  assert.throws(() => new nn.Upsample({ scaleFactor: 2, mode: 'linear', alignCorners: true }).forward(torch.zeros([1, 1, 2, 2, 2])),
    /Upsample: mode 'linear' needs a 3D input \[N, C, L\], got 5D input of shape \[1, 1, 2, 2, 2\]/);
  assert.throws(() => new nn.Upsample({ size: [3, 3] }).forward(torch.zeros([1, 1, 4])), /Upsample: size \[3, 3\] must have one entry per spatial dimension/);
});

test('antialias: finite differences agree with autograd; Upsample({ antialias }) is F.interpolate; upsampling without it differs only when shrinking', () => {
  torch.scope(() => {
    const x = randomTensor([1, 2, 7, 6], 7, -1, 1, true);
    gradcheck((t) => F.interpolate(t, { size: [3, 4], mode: 'bilinear', antialias: true }), [x]);
    gradcheck((t) => F.interpolate(t, { size: [4, 2], mode: 'bicubic', antialias: true }), [x]);
    gradcheck((t) => F.interpolate(t, { scaleFactor: 0.6, mode: 'bicubic', antialias: true, alignCorners: true }), [x]);
    const up = new nn.Upsample({ scaleFactor: 0.5, mode: 'bilinear', antialias: true });
    assert.ok(up.forward(x).equal(F.interpolate(x, { scaleFactor: 0.5, mode: 'bilinear', antialias: true })));
    assert.equal(up.toString(), "Upsample(scaleFactor=0.5, mode='bilinear', antialias=true)");
    // Antialiasing widens the kernel when shrinking: a different result from plain bilinear there.
    const plain = F.interpolate(x, { scaleFactor: 0.5, mode: 'bilinear' });
    assert.ok(!plain.equal(up.forward(x)));
    up.dispose();
  });
});

test('finite differences agree with autograd for the 3D and 5D modes', () => {
  torch.scope(() => {
    const x3 = randomTensor([2, 2, 5], 11, -1, 1, true);
    gradcheck((t) => F.interpolate(t, { size: 8, mode: 'linear' }), [x3]);
    gradcheck((t) => F.interpolate(t, { scaleFactor: 0.7, mode: 'area' }), [x3]);
    const x5 = randomTensor([1, 2, 3, 2, 3], 12, -1, 1, true);
    gradcheck((t) => F.interpolate(t, { size: [4, 3, 5], mode: 'trilinear', alignCorners: true }), [x5]);
    gradcheck((t) => F.interpolate(t, { scaleFactor: 1.5, mode: 'nearest-exact' }), [x5]);
  });
});

test('interpolate frees every intermediate tensor', () => {
  const inputs = [torch.keep(torch.randn([1, 2, 6])), torch.keep(torch.randn([1, 2, 6, 5])), torch.keep(torch.randn([1, 2, 4, 3, 5]))];
  const calls: [number, Options][] = [[0, { scaleFactor: 0.5, mode: 'area' }], [0, { size: 9, mode: 'linear' }], [1, { size: [3, 2], mode: 'bicubic', antialias: true }],
    [1, { scaleFactor: 1.5, mode: 'nearest-exact', recomputeScaleFactor: true }], [2, { scaleFactor: [0.5, 1, 1.5], mode: 'trilinear' }], [2, { size: 2, mode: 'area' }]];
  for (const [i, options] of calls) {
    F.interpolate(inputs[i], options).dispose();
    const before = torch.memoryStats().liveTensors;
    F.interpolate(inputs[i], options).dispose();
    assert.equal(torch.memoryStats().liveTensors, before, JSON.stringify(options));
  }
  inputs.forEach((t) => t.dispose());
});
