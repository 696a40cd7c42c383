// orthogonium.legacy: Trockman & Kolter's Cayley layers, Singla & Feizi's SOC
// and Li et al.'s BCOP, in the form of the papers' code that Orthogonium keeps.
//
// 1. Orthogonality of the actual operator (the dense matrix of layer.forward
//    on the identity basis), before and after a few SGD steps. Cayley and BCOP
//    are exactly orthogonal (up to float32 / Björck precision). SOC is exp(S)
//    truncated after 12 terms in evaluation, and its scaling does not
//    guarantee ‖S‖ ≤ 1 (see src/ortho/legacy/soc.ts): the bound used here,
//    1e-3, is what 12 terms give for ‖S‖ up to about 2.6 (|θ|¹³/13! ≤ 1e-3). In
//    practice ‖S‖ is about 1.4 (the 5 training terms then deviate by ~2e-3,
//    1.4⁶/6!), so 12 terms are exact to ~1e-8: float32 round-off dominates.
// 2. Gradients by central differences in float64, of the input and of every
//    parameter (perturbed in place in the real layer).
// 3. Equality with Orthogonium's legacy code, run by PyTorch 1.13 on the same
//    float64 weights: outputs, input gradients, parameter gradients over
//    training and evaluation steps, and the state (SOC's power-iteration
//    vectors) after them. The legacy modules import einops and hard-code CUDA,
//    so their functions are transcribed into the Python snippet below (with
//    the einops rearrangement written as reshape/permute).
// 4. Bad options and inputs are refused with errors naming the problem.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { legacy } from '../src/ortho/index.js';
import { ClassParam } from '../src/models/index.js';
import * as pkg from '../src/index.js';
import { assertSpectrum, configName, maxAbsDiff, operatorSingularValues, trainSteps } from './helpers/operator.js';
import type { Layer } from './helpers/operator.js';
import { gradcheck, randomTensor } from './helpers/gradcheck.js';
import { Described, assertMatchesTorch, describe as describeTensor, runTorch, skipWithoutTorch } from './helpers/pytorch.js';

const { BCOP, Cayley, CayleyLinear, SOC, cayleyTransform, legacyPowerIteration } = legacy;

torch.setNumThreads(1);
type Tensor = torch.Tensor;

interface ConvCase { cin: number; cout: number; k: number; s?: 1 | 2; h?: number }
const caseName = (c: ConvCase): string => configName({ in: c.cin, out: c.cout, k: c.k, s: c.s, h: c.h });
const convShape = (c: ConvCase): number[] => [c.cin, c.h ?? 8, c.h ?? 8];

type Kind = 'Cayley' | 'SOC' | 'BCOP';
function buildConv(kind: Kind, c: ConvCase, bias = false, extra: Record<string, unknown> = {}): Layer {
  const options = { inChannels: c.cin, outChannels: c.cout, kernelSize: c.k, stride: c.s ?? 1, bias, ...extra };
  if (kind === 'Cayley') return new Cayley(options);
  if (kind === 'SOC') return new SOC(options);
  return new BCOP(options);
}

const SOC_EVAL = { maxTol: 1e-3, minBound: 1 - 1e-3 };

describe('orthogonality of the operator (dense matrix on the identity basis), before and after 10 SGD steps', () => {
  const grids: Record<Kind, ConvCase[]> = {
    Cayley: [
      { cin: 4, cout: 4, k: 3 }, { cin: 2, cout: 6, k: 3, h: 7 }, { cin: 6, cout: 2, k: 5 }, { cin: 3, cout: 3, k: 2 },
      { cin: 2, cout: 4, k: 3, s: 2 }, { cin: 2, cout: 16, k: 4, s: 2 }, { cin: 4, cout: 4, k: 1 },
    ],
    SOC: [
      { cin: 4, cout: 4, k: 3 }, { cin: 2, cout: 6, k: 3 }, { cin: 6, cout: 2, k: 5 }, { cin: 2, cout: 4, k: 3, s: 2 },
      { cin: 4, cout: 4, k: 3, s: 2 }, { cin: 4, cout: 4, k: 1 },
    ],
    BCOP: [
      { cin: 4, cout: 4, k: 3 }, { cin: 2, cout: 6, k: 5 }, { cin: 6, cout: 2, k: 3 }, { cin: 3, cout: 3, k: 7, h: 9 },
      { cin: 2, cout: 4, k: 3, s: 2 }, { cin: 4, cout: 4, k: 5, s: 2 }, { cin: 3, cout: 5, k: 1 },
    ],
  };
  for (const kind of ['Cayley', 'SOC', 'BCOP'] as Kind[]) {
    for (const c of grids[kind]) {
      test(`${kind} ${caseName(c)}`, () => {
        torch.manualSeed(0);
        torch.scope(() => {
          const layer = buildConv(kind, c);
          const bounds = kind === 'SOC' ? SOC_EVAL : { maxTol: 1e-4, minBound: 1 - 1e-4 };
          assertSpectrum(operatorSingularValues(layer, convShape(c)), bounds, `${kind} ${caseName(c)} at initialization`);
          const moved = trainSteps(layer, convShape(c), { steps: 10, lr: 0.1 });
          assert.ok(moved > 1e-4, `${kind} ${caseName(c)}: training moved the weights by only ${moved}`);
          assertSpectrum(operatorSingularValues(layer, convShape(c)), bounds, `${kind} ${caseName(c)} after 10 SGD steps`);
          layer.dispose();
        });
      });
    }
  }

  test('Cayley and BCOP in float64: orthogonal to 1e-10; SOC in evaluation: within its truncation error', () => {
    torch.manualSeed(1);
    for (const [kind, c] of [['Cayley', { cin: 3, cout: 5, k: 3, h: 6 }], ['Cayley', { cin: 2, cout: 4, k: 4, s: 2 }], ['BCOP', { cin: 4, cout: 4, k: 3 }],
      ['BCOP', { cin: 4, cout: 2, k: 3, s: 2 }], ['SOC', { cin: 4, cout: 4, k: 3, h: 6 }]] as [Kind, ConvCase][]) {
      torch.scope(() => {
        // Trained in float32 (as trainSteps feeds it), then evaluated in float64: the layers orthogonalize at every forward.
        const layer = buildConv(kind, c);
        trainSteps(layer, convShape(c), { steps: 3, lr: 0.1 });
        layer.to('float64').eval();
        const spec = operatorSingularValues((x) => (layer.forward(x.to('float64')) as Tensor), convShape(c));
        const tol = kind === 'SOC' ? 1e-6 : 1e-10;
        assertSpectrum(spec, { maxTol: tol, minBound: 1 - tol }, `${kind} ${caseName(c)} float64`);
        layer.dispose();
      });
    }
  });

  test('SOC with its 5 training terms is only close to orthogonal; a rectangular Cayley input is fine', () => {
    torch.manualSeed(2);
    torch.scope(() => {
      const soc = buildConv('SOC', { cin: 4, cout: 4, k: 3 }).to('float64');
      soc.train();
      const spec = operatorSingularValues((x) => soc.forward(x.to('float64')), [4, 6, 6]);
      const deviation = Math.max(...spec.values.map((v) => Math.abs(v - 1)));
      assert.ok(deviation > 1e-4 && deviation < 0.05, `5-term deviation ${deviation}`);
      const cayley = new Cayley({ inChannels: 3, outChannels: 3, kernelSize: 3, bias: false });
      assertSpectrum(operatorSingularValues(cayley, [3, 5, 8]), { maxTol: 1e-4, minBound: 1 - 1e-4 }, 'Cayley on 5×8 inputs');
    });
  });

  for (const [fin, fout] of [[6, 4], [3, 7], [5, 5]]) {
    test(`CayleyLinear ${fin} → ${fout}`, () => {
      torch.manualSeed(3);
      torch.scope(() => {
        const layer = new CayleyLinear(fin, fout, { bias: false });
        assertSpectrum(operatorSingularValues(layer, [fin]), {}, `CayleyLinear ${fin} → ${fout} at initialization`);
        assert.ok(trainSteps(layer, [fin], { steps: 10, lr: 0.1 }) > 1e-4);
        assertSpectrum(operatorSingularValues(layer, [fin]), {}, `CayleyLinear ${fin} → ${fout} after training`);
      });
    });
  }

  test('cayleyTransform of complex batches: orthonormal columns (tall) or rows (wide), in complex128', () => {
    torch.manualSeed(4);
    torch.scope(() => {
      for (const [m, n] of [[5, 3], [3, 5], [4, 4]]) {
        const z = torch.aten('complex', torch.randn([7, m, n], { dtype: 'float64' }), torch.randn([7, m, n], { dtype: 'float64' })) as Tensor;
        const q = cayleyTransform(z);
        assert.deepEqual(q.shape, [7, m, n]);
        const gram = m >= n ? q.mT.conj().matmul(q) : q.matmul(q.mT.conj());
        const size = Math.min(m, n);
        const err = (gram.sub(torch.eye(size, size, { dtype: 'complex128' })).abs().max() as Tensor).item();
        assert.ok(err < 1e-12, `${m}×${n}: ‖QᴴQ − I‖∞ = ${err}`);
      }
    });
  });
});

/**
 * Central differences of <layer(x), v> in every parameter (up to `count`
 * elements each, perturbed in place) against the backward pass.
 */
function checkParameterGradients(layer: Layer, x: Tensor, what: string, count = 10): void {
  torch.scope(() => {
    const v = torch.noGrad(() => torch.randnLike(layer.forward(x)));
    const project = (): number => torch.noGrad(() => torch.scope(() => layer.forward(x).mul(v).sum().item()));
    layer.zeroGrad();
    torch.scope(() => layer.forward(x).mul(v).sum().backward());
    const eps = 1e-6;
    const named = [...layer.namedParameters()];
    assert.ok(named.length > 0);
    for (const [n, p] of named) {
      assert.ok(p.grad !== null, `${what}: ${n} has no gradient`);
      const grad = p.grad.toFlatArray();
      const total = p.numel();
      const picks = Math.min(total, count);
      for (let j = 0; j < picks; j++) {
        const e = Math.floor((j * total) / picks);
        const at = (delta: number): number => {
          torch.noGrad(() => p.view(-1).narrow(0, e, 1).add_(delta));
          return project();
        };
        const numeric = (at(eps) - at(-2 * eps)) / (2 * eps);
        at(eps);
        const err = Math.abs(numeric - grad[e]);
        assert.ok(err <= 1e-6 * Math.max(1, Math.abs(grad[e])), `${what} ${n}[${e}]: analytic ${grad[e]} vs numeric ${numeric}`);
      }
    }
    layer.zeroGrad();
  });
}

describe('gradients (float64, central differences)', () => {
  const layers = (): [string, Layer, number[]][] => [
    ['Cayley', new Cayley({ inChannels: 2, outChannels: 3, kernelSize: 3 }), [2, 5, 5]],
    ['Cayley stride 2', new Cayley({ inChannels: 2, outChannels: 3, kernelSize: 4, stride: 2 }), [2, 6, 6]],
    ['CayleyLinear', new CayleyLinear(5, 3), [5]],
    ['CayleyLinear tall', new CayleyLinear(3, 5), [3]],
    // Without power iterations in training: the vectors stay put, so the layer is a fixed function of its parameters.
    ['SOC', new SOC({ inChannels: 2, outChannels: 3, kernelSize: 3, initIters: 0, updateIters: 0 }), [2, 5, 5]],
    ['SOC stride 2', new SOC({ inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2, initIters: 0, updateIters: 0 }), [2, 4, 4]],
    // The power-iteration scale has no gradient (as in the legacy code) and a random start: the fixed scale here.
    ['BCOP', new BCOP({ inChannels: 3, outChannels: 2, kernelSize: 3, powerIterationScaling: false }), [3, 5, 5]],
    ['BCOP stride 2', new BCOP({ inChannels: 1, outChannels: 3, kernelSize: 3, stride: 2, powerIterationScaling: false }), [1, 6, 6]],
  ];

  test('input gradients, training and evaluation (gradcheck helper)', () => {
    torch.manualSeed(5);
    for (const [what, built, shape] of layers()) {
      torch.scope(() => {
        const layer = built.to('float64');
        for (const training of [true, false]) {
          layer.train(training);
          const x = randomTensor([2, ...shape], 7, -1, 1, true);
          const report = gradcheck((xi) => layer.forward(xi), [x], { rtol: 1e-6, atol: 1e-9 });
          assert.equal(report.checked, x.numel(), what);
        }
        layer.dispose();
      });
    }
  });

  test('every parameter in training mode, perturbed in place in the real layer', () => {
    torch.manualSeed(6);
    for (const [what, built, shape] of layers()) {
      torch.scope(() => {
        const layer = built.to('float64');
        layer.train();
        checkParameterGradients(layer, randomTensor([2, ...shape], 8), what);
        layer.dispose();
      });
    }
  });

  test('SOC in evaluation (12 terms, σ through the kernel): every parameter', () => {
    torch.manualSeed(7);
    torch.scope(() => {
      const layer = new SOC({ inChannels: 3, outChannels: 3, kernelSize: 3 }).to('float64');
      layer.eval();
      checkParameterGradients(layer, randomTensor([1, 3, 5, 5], 9), 'SOC eval');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Orthogonium's legacy code, transcribed (einops → reshape/permute, no CUDA), for PyTorch 1.13.
const LEGACY_PY = `
import numpy as np

def space_to_depth(x):  # einops: "b c (w k1) (h k2) -> b (c k1 k2) w h", k1 = k2 = 2
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)

# --- legacy/cayley_ortho_conv.py
def cayley_func(W):
    if len(W.shape) == 2:
        return cayley_func(W[None])[0]
    _, cout, cin = W.shape
    if cin > cout:
        return cayley_func(W.transpose(1, 2)).transpose(1, 2)
    U, V = W[:, :cin], W[:, cin:]
    I = torch.eye(cin, dtype=W.dtype, device=W.device)[None, :, :]
    A = U - U.conj().transpose(1, 2) + V.conj().transpose(1, 2) @ V
    iIpA = torch.inverse(I + A)
    return torch.cat((iIpA @ (I - A), -2 * V @ iIpA), axis=1)

def fft_shift_matrix(n, s):
    shift = torch.arange(0, n).repeat((n, 1))
    shift = shift + shift.T
    return torch.exp(1j * 2 * np.pi * s * shift / n)

def cayley_wfft(weight, n):
    cout, cin, _, _ = weight.shape
    s = (weight.shape[2] - 1) // 2
    shift_matrix = fft_shift_matrix(n, -s)[:, : (n // 2 + 1)].reshape(n * (n // 2 + 1), 1, 1)
    return shift_matrix * torch.fft.rfft2(weight, (n, n)).reshape(cout, cin, n * (n // 2 + 1)).permute(2, 0, 1).conj()

class LegacyCayley(nn.Module):  # StridedConv + Cayley, parameters only
    def __init__(self, o):
        super().__init__()
        cin, k = o['inChannels'], o['kernelSize']
        self.striding = o.get('stride', 1) == 2
        if self.striding:
            cin, k = 4 * cin, max(1, k // 2)
        self.weight = nn.Parameter(torch.zeros(o['outChannels'], cin, k, k))
        self.bias = nn.Parameter(torch.zeros(o['outChannels'])) if o.get('bias', True) else None
        self.alpha = nn.Parameter(torch.tensor(0.0))

    def forward(self, x):
        if self.striding:
            x = space_to_depth(x)
        cout, cin, _, _ = self.weight.shape
        batches, _, n, _ = x.shape
        xfft = torch.fft.rfft2(x, s=x.shape[2:]).permute(2, 3, 1, 0).reshape(n * (n // 2 + 1), cin, batches)
        wfft = cayley_wfft(self.weight, n)
        yfft = (cayley_func(self.alpha * wfft / wfft.norm()) @ xfft).reshape(n, n // 2 + 1, cout, batches)
        y = torch.fft.irfft2(yfft.permute(3, 2, 0, 1), x.shape[2:])
        if self.bias is not None:
            y += self.bias[:, None, None]
        return y

class LegacyCayleyLinear(nn.Module):
    def __init__(self, o):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(o['outFeatures'], o['inFeatures']))
        self.bias = nn.Parameter(torch.zeros(o['outFeatures'])) if o.get('bias', True) else None
        self.alpha = nn.Parameter(torch.tensor(0.0))
        self.Q = None

    def forward(self, X):
        X = X.view(X.shape[0], -1)
        if self.training or self.Q is None:
            self.Q = cayley_func(self.alpha * self.weight / self.weight.norm())
        return F.linear(X, self.Q if self.training else self.Q.detach(), self.bias)

# --- legacy/skew_ortho_conv.py (the vectors as buffers; norms in the tensors' own precision)
def l2_normalize(tensor, eps=1e-12):
    norm = float(torch.sqrt(torch.sum(tensor * tensor)))
    return tensor / max(norm, eps)

def transpose_filter(conv_filter):
    return torch.flip(torch.transpose(conv_filter, 0, 1), [2, 3])

class LegacySOC(nn.Module):
    def __init__(self, o):
        super().__init__()
        stride = o.get('stride', 1)
        self.stride = stride
        self.out_channels = o['outChannels']
        self.in_channels = o['inChannels'] * stride * stride
        m = max(self.out_channels, self.in_channels)
        k = o.get('kernelSize', 3)
        self.kernel_size = k
        self.train_terms, self.eval_terms = o.get('trainTerms', 5), o.get('evalTerms', 12)
        self.init_iters, self.update_iters, self.update_freq = o.get('initIters', 50), o.get('updateIters', 1), o.get('updateFreq', 200)
        self.total_iters = 0
        self.unconstrained_conv_filter = nn.Parameter(torch.zeros(m, m, k, k))
        self.enable_bias = o.get('bias', True)
        self.bias = nn.Parameter(torch.zeros(self.out_channels)) if self.enable_bias else None
        for name, shape in [('u1', (1, m, 1, k)), ('v1', (m, 1, k, 1)), ('u2', (1, m, k, 1)), ('v2', (m, 1, 1, k)),
                            ('u3', (1, m, k, k)), ('v3', (m, 1, 1, 1)), ('u4', (m, 1, k, k)), ('v4', (1, m, 1, 1))]:
            self.register_buffer(name, torch.zeros(shape))
        self.register_buffer('correction', torch.zeros(1))

    def update_sigma(self):
        if self.training:
            if self.total_iters % self.update_freq == 0:
                update_iters = self.init_iters
            else:
                update_iters = self.update_iters
            self.total_iters = self.total_iters + 1
        else:
            update_iters = 0
        conv_filter = 0.5 * (self.unconstrained_conv_filter - transpose_filter(self.unconstrained_conv_filter))
        with torch.no_grad():
            for i in range(update_iters):
                self.v1.data = l2_normalize((conv_filter * self.u1).sum((1, 3), keepdim=True).data)
                self.u1.data = l2_normalize((conv_filter * self.v1).sum((0, 2), keepdim=True).data)
                self.v2.data = l2_normalize((conv_filter * self.u2).sum((1, 2), keepdim=True).data)
                self.u2.data = l2_normalize((conv_filter * self.v2).sum((0, 3), keepdim=True).data)
                self.v3.data = l2_normalize((conv_filter * self.u3).sum((1, 2, 3), keepdim=True).data)
                self.u3.data = l2_normalize((conv_filter * self.v3).sum(0, keepdim=True).data)
                self.v4.data = l2_normalize((conv_filter * self.u4).sum((0, 2, 3), keepdim=True).data)
                self.u4.data = l2_normalize((conv_filter * self.v4).sum(1, keepdim=True).data)
        func = torch.min
        sigma1 = torch.sum(conv_filter * self.u1 * self.v1)
        sigma2 = torch.sum(conv_filter * self.u2 * self.v2)
        sigma3 = torch.sum(conv_filter * self.u3 * self.v3)
        sigma4 = torch.sum(conv_filter * self.u4 * self.v4)
        return func(func(func(sigma1, sigma2), sigma3), sigma4)

    def forward(self, x):
        conv_filter_skew = 0.5 * (self.unconstrained_conv_filter - transpose_filter(self.unconstrained_conv_filter))
        sigma = self.update_sigma()
        conv_filter_n = (self.correction * conv_filter_skew) / sigma
        num_terms = self.train_terms if self.training else self.eval_terms
        if self.stride > 1:
            x = space_to_depth(x)
        if self.out_channels > self.in_channels:
            curr_z = F.pad(x, (0, 0, 0, 0, 0, self.out_channels - self.in_channels, 0, 0))
        else:
            curr_z = x
        z = curr_z
        for i in range(1, num_terms + 1):
            curr_z = F.conv2d(curr_z, conv_filter_n, padding="same") / float(i)
            z = z + curr_z
        if self.out_channels < self.in_channels:
            z = z[:, : self.out_channels, :, :]
        if self.enable_bias:
            z = z + self.bias.view(1, -1, 1, 1)
        return z

# --- legacy/block_ortho_conv.py
def power_iteration(A, init_u=None, n_iters=20, return_uv=True):
    shape = list(A.shape)
    shape[-1] = 1
    shape = tuple(shape)
    u = torch.randn(*shape, dtype=A.dtype, device=A.device) if init_u is None else init_u
    for _ in range(n_iters):
        v = A.transpose(-1, -2) @ u
        v /= v.norm(dim=-2, keepdim=True)
        u = A @ v
        u /= u.norm(dim=-2, keepdim=True)
    s = (u.transpose(-1, -2) @ A @ v).squeeze(-1).squeeze(-1)
    if return_uv:
        return u, s, v
    return s

def bjorck_orthonormalize(w, beta=0.5, iters=20, order=1, power_iteration_scaling=False, default_scaling=False):
    if w.shape[-2] < w.shape[-1]:
        return bjorck_orthonormalize(w.transpose(-1, -2), beta=beta, iters=iters, order=order,
                                     power_iteration_scaling=power_iteration_scaling, default_scaling=default_scaling).transpose(-1, -2)
    if power_iteration_scaling:
        with torch.no_grad():
            s = power_iteration(w, return_uv=False)
        w = w / s.unsqueeze(-1).unsqueeze(-1)
    elif default_scaling:
        w = w / ((w.shape[0] * w.shape[1]) ** 0.5)
    for _ in range(iters):
        w_t_w = w.transpose(-1, -2) @ w
        w = (1 + beta) * w - beta * w @ w_t_w
    return w

def block_orth(p1, p2):
    n = p1.size(0)
    kernel2x2 = {}
    eye = torch.eye(n, device=p1.device, dtype=p1.dtype)
    kernel2x2[0, 0] = p1.mm(p2)
    kernel2x2[0, 1] = p1.mm(eye - p2)
    kernel2x2[1, 0] = (eye - p1).mm(p2)
    kernel2x2[1, 1] = (eye - p1).mm(eye - p2)
    return kernel2x2

def matrix_conv(m1, m2):
    n = (m1[0, 0]).size(0)
    k = int(np.sqrt(len(m1)))
    l = int(np.sqrt(len(m2)))
    result = {}
    size = k + l - 1
    for i in range(size):
        for j in range(size):
            result[i, j] = torch.zeros((n, n), device=m1[0, 0].device, dtype=m1[0, 0].dtype)
            for index1 in range(min(k, i + 1)):
                for index2 in range(min(k, j + 1)):
                    if (i - index1) < l and (j - index2) < l:
                        result[i, j] += m1[index1, index2].mm(m2[i - index1, j - index2])
    return result

def dict_to_tensor(x, k1, k2):
    return torch.stack([torch.stack([x[i, j] for j in range(k2)]) for i in range(k1)])

def convolution_orthogonal_generator_projs(ksize, cin, cout, ortho, sym_projs):
    flipped = False
    if ksize == 1:
        return ortho.t().unsqueeze(-1).unsqueeze(-1)
    if cin > cout:
        flipped = True
        cin, cout = cout, cin
        ortho = ortho.t()
    p = block_orth(sym_projs[0], sym_projs[1])
    for _ in range(1, ksize - 1):
        p = matrix_conv(p, block_orth(sym_projs[_ * 2], sym_projs[_ * 2 + 1]))
    for i in range(ksize):
        for j in range(ksize):
            p[i, j] = ortho.mm(p[i, j])
    if flipped:
        return dict_to_tensor(p, ksize, ksize).permute(2, 3, 1, 0)
    return dict_to_tensor(p, ksize, ksize).permute(3, 2, 1, 0)

class LegacyBCOP(nn.Module):  # in evaluation the kernel is recomputed without gradient (the legacy layer reuses its last one)
    def __init__(self, o):
        super().__init__()
        stride = o.get('stride', 1)
        self.stride = stride
        self.in_channels = o['inChannels'] * stride * stride
        self.out_channels = o['outChannels']
        self.max_channels = max(self.out_channels, self.in_channels)
        self.kernel_size = o['kernelSize']
        self.num_kernels = 2 * self.kernel_size - 1
        self.bjorck_iters, self.bjorck_beta = o.get('bjorckIters', 12), o.get('bjorckBeta', 0.5)
        self.power_iteration_scaling = o.get('powerIterationScaling', True)
        self.conv_matrices = nn.Parameter(torch.zeros(self.num_kernels, self.max_channels, self.max_channels))
        self.enable_bias = o.get('bias', True)
        self.bias = nn.Parameter(torch.zeros(self.out_channels)) if self.enable_bias else None
        self.register_buffer('mask', torch.zeros(self.num_kernels - 1, 1, self.max_channels))

    def kernel(self):
        ortho = bjorck_orthonormalize(self.conv_matrices, beta=self.bjorck_beta, iters=self.bjorck_iters,
                                      power_iteration_scaling=self.power_iteration_scaling, default_scaling=not self.power_iteration_scaling)
        H = ortho[0, : self.in_channels, : self.out_channels]
        PQ = ortho[1:]
        if self.kernel_size > 1:
            PQ = PQ * self.mask
            PQ = PQ @ PQ.transpose(-1, -2)
        return convolution_orthogonal_generator_projs(self.kernel_size, self.in_channels, self.out_channels, H, PQ)

    def forward(self, x):
        if self.training:
            weight = self.kernel()
        else:
            with torch.no_grad():
                weight = self.kernel()
        if self.stride > 1:
            x = space_to_depth(x)
        p = self.kernel_size // 2
        z = F.conv2d(F.pad(x, (p, p, p, p), mode="circular"), weight)
        if self.enable_bias:
            z = z + self.bias.view(1, -1, 1, 1)
        return z

LAYERS = {'Cayley': LegacyCayley, 'CayleyLinear': LegacyCayleyLinear, 'SOC': LegacySOC, 'BCOP': LegacyBCOP}

def run_legacy(spec):
    m = LAYERS[spec['layer']](spec['options'])
    m.load_state_dict({k: T(v) for k, v in spec['state'].items()}, strict=True)
    res = []
    for st in spec['steps']:
        m.train(st['train'])
        for p in m.parameters():
            p.grad = None
        x = T(st['x'], True)
        y = m(x)
        (y * T(st['proj'])).sum().backward()
        res.append({'y': J(y), 'xGrad': J(x.grad), 'grads': {k: None if p.grad is None else J(p.grad) for k, p in m.named_parameters()}})
    return {'steps': res, 'state': {k: J(v) for k, v in m.state_dict().items()}}
`;

interface LegacyRun { steps: { y: Described; xGrad: Described; grads: Record<string, Described | null> }[]; state: Record<string, Described> }
interface Step { x: Tensor; proj: Tensor; train: boolean }

/**
 * Runs the same steps (forward, backward of <y, proj>) on our layer and on
 * the transcribed legacy one loaded with our state dict, and compares
 * outputs, input gradients, parameter gradients and the final state. In
 * evaluation our derived weights (Cayley's frequency matrices, CayleyLinear's
 * Q, BCOP's kernel) are cached detached, the library's convention: their
 * parameters then have no gradient, which is not compared.
 */
function assertMatchesLegacy(layerName: string, options: Record<string, unknown>, layer: Layer, steps: Step[], label: string,
  tol = { atol: 1e-10, rtol: 1e-9 }): void {
  const spec = torch.scope(() => ({
    layer: layerName, options,
    state: Object.fromEntries([...layer.stateDict()].map(([k, v]) => [k, describeTensor(v)])),
    steps: steps.map((s) => ({ x: describeTensor(s.x), proj: describeTensor(s.proj), train: s.train })),
  }));
  const want = runTorch(`${LEGACY_PY}\nout = run_legacy(inp)`, spec) as LegacyRun;
  steps.forEach((s, i) => torch.scope(() => {
    layer.train(s.train);
    layer.zeroGrad();
    const x = s.x.detach().requiresGrad_(true);
    const y = layer.forward(x);
    y.mul(s.proj).sum().backward();
    const w = want.steps[i];
    assertMatchesTorch(y, w.y, tol, `${label} step ${i} output`);
    assertMatchesTorch(x.grad!, w.xGrad, tol, `${label} step ${i} input grad`);
    const ours = [...layer.namedParameters()];
    assert.deepEqual(ours.map(([k]) => k), Object.keys(w.grads), `${label} parameter names`);
    for (const [k, p] of ours) {
      const theirs = w.grads[k];
      if (p.grad === null && !s.train) continue;
      assert.ok(p.grad !== null && theirs !== null, `${label} step ${i}: gradient of ${k}: ours ${p.grad === null ? 'none' : 'set'}, legacy ${theirs === null ? 'none' : 'set'}`);
      assertMatchesTorch(p.grad, theirs, tol, `${label} step ${i} grad of ${k}`);
    }
  }));
  torch.scope(() => {
    const state = layer.stateDict();
    assert.deepEqual([...state.keys()], Object.keys(want.state), `${label} state dict names`);
    for (const [k, v] of state) assertMatchesTorch(v, want.state[k], tol, `${label} state ${k}`);
  });
}

function makeSteps(inShape: number[], outShape: number[], pattern: boolean[], seed: number): Step[] {
  return pattern.map((train, i) => ({
    x: randomTensor(inShape, seed + 2 * i),
    proj: randomTensor(outShape, seed + 2 * i + 1),
    train,
  }));
}

const TRAIN_EVAL = [true, true, false, true, false];

describe('equal to Orthogonium\'s legacy code (PyTorch 1.13, float64, same weights)', { skip: skipWithoutTorch }, () => {
  const cayleyCases: [Record<string, unknown>, number][] = [
    [{ inChannels: 3, outChannels: 3, kernelSize: 3 }, 6], [{ inChannels: 2, outChannels: 5, kernelSize: 3 }, 5],
    [{ inChannels: 5, outChannels: 2, kernelSize: 5, bias: false }, 7], [{ inChannels: 3, outChannels: 2, kernelSize: 4 }, 6],
    [{ inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2 }, 8], [{ inChannels: 1, outChannels: 8, kernelSize: 5, stride: 2 }, 6],
  ];
  for (const [options, n] of cayleyCases) {
    test(`Cayley ${configName(options)} on ${n}×${n}`, () => {
      torch.manualSeed(10);
      torch.scope(() => {
        const layer = new Cayley(options as never).to('float64');
        // Move α off ‖Ŵ‖ at 32×32, so that the scale matters.
        torch.noGrad(() => layer.alpha.mul_(0.8));
        const outShape = [2, options.outChannels as number, options.stride === 2 ? n / 2 : n, options.stride === 2 ? n / 2 : n];
        assertMatchesLegacy('Cayley', options, layer, makeSteps([2, options.inChannels as number, n, n], outShape, TRAIN_EVAL, 100), `Cayley ${configName(options)}`);
      });
    });
  }

  test('Cayley: α starts at the norm of the kernel\'s (centred, conjugated) spectrum on 32×32, as the legacy layer computes it', () => {
    torch.manualSeed(11);
    torch.scope(() => {
      for (const options of [{ inChannels: 3, outChannels: 4, kernelSize: 3 }, { inChannels: 2, outChannels: 4, kernelSize: 5, stride: 2 }]) {
        const layer = new Cayley(options).to('float64');
        const want = runTorch(`${LEGACY_PY}\nout['alpha'] = cayley_wfft(T(inp['weight']), 32).norm().item()`, { weight: describeTensor(layer.weight) });
        assert.ok(Math.abs(layer.alpha.item() - want.alpha) < 1e-5 * want.alpha, `α ${layer.alpha.item()} vs ${want.alpha}`);
      }
    });
  });

  for (const [fin, fout, bias] of [[6, 4, true], [3, 7, true], [5, 5, false]] as [number, number, boolean][]) {
    test(`CayleyLinear ${fin} → ${fout}`, () => {
      torch.manualSeed(12);
      torch.scope(() => {
        const layer = new CayleyLinear(fin, fout, { bias }).to('float64');
        torch.noGrad(() => layer.alpha.mul_(1.3));
        // Inputs [N, …] are flattened, as in the legacy layer.
        const shape = fin === 6 ? [3, 2, 3] : [3, fin];
        assertMatchesLegacy('CayleyLinear', { inFeatures: fin, outFeatures: fout, bias }, layer, makeSteps(shape, [3, fout], TRAIN_EVAL, 200),
          `CayleyLinear ${fin} → ${fout}`);
        // The initial α of the legacy layer is ‖W‖F.
        const fresh = new CayleyLinear(fin, fout);
        assert.ok(Math.abs(fresh.alpha.item() - (fresh.weight.norm() as Tensor).item()) < 1e-6);
      });
    });
  }

  const socCases: [Record<string, unknown>, number][] = [
    [{ inChannels: 3, outChannels: 3, kernelSize: 3 }, 6], [{ inChannels: 2, outChannels: 5, kernelSize: 3 }, 5],
    [{ inChannels: 5, outChannels: 2, kernelSize: 5, bias: false }, 6], [{ inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2 }, 6],
    [{ inChannels: 3, outChannels: 2, kernelSize: 3, stride: 2 }, 4], [{ inChannels: 4, outChannels: 4, kernelSize: 1 }, 4],
    // The power-iteration schedule: initIters every updateFreq training steps, updateIters otherwise.
    [{ inChannels: 2, outChannels: 2, kernelSize: 3, initIters: 4, updateIters: 2, updateFreq: 2, trainTerms: 3, evalTerms: 8 }, 5],
  ];
  for (const [options, n] of socCases) {
    test(`SOC ${configName(options)} on ${n}×${n}`, () => {
      torch.manualSeed(13);
      torch.scope(() => {
        const layer = new SOC(options as never).to('float64');
        const s = options.stride === 2 ? 2 : 1;
        const outShape = [2, options.outChannels as number, n / s, n / s];
        const pattern = options.updateFreq === 2 ? [true, true, true, false, true] : TRAIN_EVAL;
        assertMatchesLegacy('SOC', options, layer, makeSteps([2, options.inChannels as number, n, n], outShape, pattern, 300), `SOC ${configName(options)}`);
        assert.equal(layer.totalIters, pattern.filter(Boolean).length);
      });
    });
  }

  const bcopCases: [Record<string, unknown>, number][] = [
    [{ inChannels: 3, outChannels: 3, kernelSize: 3 }, 6], [{ inChannels: 2, outChannels: 5, kernelSize: 5 }, 6],
    [{ inChannels: 5, outChannels: 2, kernelSize: 3, bias: false }, 5], [{ inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2 }, 6],
    [{ inChannels: 3, outChannels: 4, kernelSize: 5, stride: 2 }, 8], [{ inChannels: 3, outChannels: 5, kernelSize: 1 }, 4],
    [{ inChannels: 4, outChannels: 4, kernelSize: 3, powerIterationScaling: false, bjorckIters: 20, bjorckBeta: 0.4 }, 5],
  ];
  for (const [options, n] of bcopCases) {
    test(`BCOP ${configName(options)} on ${n}×${n}`, () => {
      torch.manualSeed(14);
      torch.scope(() => {
        const layer = new BCOP(options as never).to('float64');
        // Matrices A·diag(σ)·B with σ₁ = 3 and the rest in [0.5, 1]: the random-start power iterations of both sides
        // converge to the same scale to double precision (ratio (1/3)^40), and Björck has real work to do.
        torch.noGrad(() => {
          const raw = layer.getParameter('conv_matrices')!;
          const [count, c] = raw.shape;
          const sigma = torch.linspace(1, 0.5, c, { dtype: 'float64' });
          if (c > 0) sigma.narrow(0, 0, 1).fill_(3);
          const a = torch.linalg.qr(torch.randn([count, c, c], { dtype: 'float64' })).Q;
          const b = torch.linalg.qr(torch.randn([count, c, c], { dtype: 'float64' })).Q;
          raw.copy_(a.mul(sigma.view(1, 1, c)).matmul(b.mT));
        });
        const s = options.stride === 2 ? 2 : 1;
        const outShape = [2, options.outChannels as number, n / s, n / s];
        assertMatchesLegacy('BCOP', options, layer, makeSteps([2, options.inChannels as number, n, n], outShape, TRAIN_EVAL, 400), `BCOP ${configName(options)}`);
      });
    });
  }

  test('legacyPowerIteration from a given start is the legacy power_iteration', () => {
    torch.manualSeed(15);
    torch.scope(() => {
      const a = torch.randn([3, 5, 4], { dtype: 'float64' });
      const u = torch.randn([3, 5, 1], { dtype: 'float64' });
      const want = runTorch(`${LEGACY_PY}\nout['s'] = J(power_iteration(T(inp['a']), init_u=T(inp['u']), n_iters=7, return_uv=False))`,
        { a: describeTensor(a), u: describeTensor(u) });
      assertMatchesTorch(legacyPowerIteration(a, 7, u), want.s, { atol: 1e-12, rtol: 1e-12 });
    });
  });
});

describe('state, caching and registry', () => {
  test('state-dict names are the legacy layers\' (SOC\'s vectors and BCOP\'s mask as buffers, not trained)', () => {
    torch.scope(() => {
      const soc = new SOC({ inChannels: 2, outChannels: 4, kernelSize: 3 });
      assert.deepEqual([...soc.stateDict().keys()], ['unconstrained_conv_filter', 'bias', 'u1', 'v1', 'u2', 'v2', 'u3', 'v3', 'u4', 'v4', 'correction']);
      assert.deepEqual([...soc.namedParameters()].map(([k]) => k), ['unconstrained_conv_filter', 'bias']);
      const bcop = new BCOP({ inChannels: 2, outChannels: 4, kernelSize: 3 });
      assert.deepEqual([...bcop.stateDict().keys()], ['conv_matrices', 'bias', 'mask']);
      assert.deepEqual(bcop.getBuffer('mask')!.shape, [4, 1, 4]);
      assert.deepEqual([...new Cayley({ inChannels: 2, outChannels: 4, kernelSize: 3 }).stateDict().keys()], ['weight', 'bias', 'alpha']);
      assert.deepEqual([...new CayleyLinear(3, 2).stateDict().keys()], ['weight', 'bias', 'alpha']);
      // Shapes of the stride-2 emulation: 4× input channels, and for Cayley half the kernel.
      const strided = new Cayley({ inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2 });
      assert.deepEqual(strided.weight.shape, [4, 8, 1, 1]);
      assert.deepEqual(new SOC({ inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2 }).getParameter('unconstrained_conv_filter')!.shape, [8, 8, 3, 3]);
      assert.deepEqual(new BCOP({ inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2 }).getParameter('conv_matrices')!.shape, [5, 8, 8]);
    });
  });

  test('evaluation caches BCOP\'s kernel and CayleyLinear\'s Q until a parameter changes; training recomputes', () => {
    torch.manualSeed(16);
    torch.scope(() => {
      const bcop = new BCOP({ inChannels: 2, outChannels: 2, kernelSize: 3 });
      bcop.eval();
      const x = torch.randn([1, 2, 6, 6]);
      const first = torch.noGrad(() => bcop.forward(x));
      const raw = bcop.getParameter('conv_matrices')!;
      // A second evaluation reuses the kernel: the output is bit-identical (no new random power-iteration start).
      assert.equal(maxAbsDiff(first, torch.noGrad(() => bcop.forward(x))), 0);
      torch.noGrad(() => raw.add_(torch.randnLike(raw).mul(0.3)));
      assert.ok(maxAbsDiff(first, torch.noGrad(() => bcop.forward(x))) > 1e-3, 'a changed parameter gives a new kernel');
      const lin = new CayleyLinear(4, 3);
      lin.eval();
      const q1 = torch.noGrad(() => lin.Q);
      torch.noGrad(() => lin.alpha.mul_(2));
      const q2 = torch.noGrad(() => lin.Q);
      assert.ok(maxAbsDiff(q1, q2) > 1e-3, 'a new α gives a new Q');
      lin.train();
      const y = lin.forward(torch.randn([2, 4]));
      y.sum().backward();
      assert.ok(lin.weight.grad !== null && lin.alpha.grad !== null, 'training reaches weight and α');
    });
  });

  test('the model factory builds them by name (legacy.Cayley, legacy.CayleyLinear, legacy.SOC, legacy.BCOP)', () => {
    torch.manualSeed(17);
    torch.scope(() => {
      // Reachable from the package entry, as users import them: ortho.legacy.Cayley, …
      for (const name of ['Cayley', 'CayleyLinear', 'SOC', 'BCOP', 'cayleyTransform'] as const) assert.equal(pkg.ortho.legacy[name], legacy[name]);
      const cayley = ClassParam.from({ type: 'legacy.Cayley', options: { inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2, padding: 1 } }).create();
      assert.ok(cayley instanceof Cayley);
      const soc = ClassParam.from({ type: 'legacy.SOC', options: { inChannels: 2, outChannels: 2, evalTerms: 6 } }).create();
      assert.ok(soc instanceof SOC && soc.evalTerms === 6 && soc.kernelSize === 3);
      assert.ok(ClassParam.from({ type: 'legacy.BCOP', options: { inChannels: 2, outChannels: 2, kernelSize: 3 } }).create() instanceof BCOP);
      assert.ok(ClassParam.from({ type: 'legacy.CayleyLinear', options: { inFeatures: 2, outFeatures: 2, bias: false } }).create() instanceof CayleyLinear);
      const y = torch.noGrad(() => (cayley as InstanceType<typeof Cayley>).forward(torch.randn([1, 2, 8, 8])));
      assert.deepEqual(y.shape, [1, 4, 4, 4]);
    });
  });
});

describe('bad options and inputs are refused with errors naming the problem', () => {
  const conv = { inChannels: 4, outChannels: 4, kernelSize: 3 };
  test('options', () => {
    assert.throws(() => new Cayley({ ...conv, stride: 3 }), { name: 'RangeError', message: /Cayley: stride must be 1 or 2.*got 3/ });
    assert.throws(() => new SOC({ ...conv, groups: 2 }), { name: 'RangeError', message: /SOC: groups are not supported/ });
    assert.throws(() => new BCOP({ ...conv, dilation: 2 }), { name: 'RangeError', message: /BCOP: dilation is not supported/ });
    assert.throws(() => new SOC({ ...conv, kernelSize: 4 }), { name: 'RangeError', message: /SOC: kernelSize must be odd, got 4/ });
    assert.throws(() => new BCOP({ ...conv, kernelSize: 2 }), { name: 'RangeError', message: /BCOP: kernelSize must be odd, got 2/ });
    assert.throws(() => new Cayley({ ...conv, inChannels: 0 }), { name: 'RangeError', message: /Cayley: inChannels must be a positive integer, got 0/ });
    assert.throws(() => new BCOP({ ...conv, kernelSize: 2.5 }), { name: 'RangeError', message: /BCOP: kernelSize must be a positive integer, got 2.5/ });
    assert.throws(() => new SOC({ ...conv, trainTerms: 0 }), { name: 'RangeError', message: /SOC: trainTerms must be an integer ≥ 1, got 0/ });
    assert.throws(() => new SOC({ ...conv, correction: -1 }), { name: 'RangeError', message: /SOC: correction must be a positive number/ });
    assert.throws(() => new SOC({ ...conv, updateFreq: 0 }), { name: 'RangeError', message: /SOC: updateFreq must be a positive integer/ });
    assert.throws(() => new BCOP({ ...conv, bjorckOrder: 2 }), { name: 'RangeError', message: /BCOP: only first-order Björck/ });
    assert.throws(() => new BCOP({ ...conv, bjorckIters: -1 }), { name: 'RangeError', message: /BCOP: bjorckIters must be an integer ≥ 0/ });
    assert.throws(() => new CayleyLinear(3, 0), { name: 'RangeError', message: /CayleyLinear: outFeatures must be a positive integer, got 0/ });
    assert.throws(() => new Cayley(undefined as never), { name: 'TypeError', message: /Cayley: expected an options object/ });
    assert.throws(() => cayleyTransform(torch.ones([3])), { name: 'RangeError', message: /cayleyTransform: expected a matrix/ });
  });

  test('inputs', () => {
    torch.scope(() => {
      for (const layer of [new Cayley(conv), new SOC(conv), new BCOP(conv)]) {
        const name = layer.typeName;
        assert.throws(() => layer.forward(torch.randn([1, 3, 8, 8])), { name: 'RangeError', message: new RegExp(`${name}: expected input \\[N, 4, H, W\\], got \\[1, 3, 8, 8\\]`) });
        assert.throws(() => layer.forward(torch.randn([4, 8, 8])), { name: 'RangeError', message: new RegExp(`${name}: expected input`) });
      }
      for (const layer of [new Cayley({ ...conv, stride: 2 }), new SOC({ ...conv, stride: 2 }), new BCOP({ ...conv, stride: 2 })]) {
        assert.throws(() => layer.forward(torch.randn([1, 4, 7, 8])), { name: 'RangeError', message: new RegExp(`${layer.typeName}: stride 2 needs an even height and width.*7×8`) });
      }
      assert.throws(() => new Cayley({ ...conv, kernelSize: 5 }).forward(torch.randn([1, 4, 4, 4])), { name: 'RangeError', message: /Cayley: the input \(4×4\) is smaller than the kernel \(5\)/ });
      assert.throws(() => new CayleyLinear(6, 2).forward(torch.randn([2, 5])), { name: 'RangeError', message: /CayleyLinear\(6 → 2\): input \[2, 5\] has 5 features per sample, expected 6/ });
    });
  });
});
