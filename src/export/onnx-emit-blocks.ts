// ONNX emitters for the 1-Lipschitz blocks: activations, residual wrappers,
// SLL blocks, and Sequential containers. Learned scalars (residual gates,
// reflection angles) become constants computed with our own tensor ops, so
// the graph repeats our arithmetic rather than an approximation of it.
import { Tensor } from '../torch/index.js';
import { Module, Sequential } from '../nn/index.js';
import { Abs, GroupSort2, HouseHolder, HouseHolderOrder2, MaxMin, SoftHuber } from '../ortho/blocks/activations.js';
import { AdditiveResidual, ConcatResidual, L2NormResidual, PrescaledAdditiveResidual } from '../ortho/blocks/residual.js';
import { AOCLipschitzResBlock, SDPBasedLipschitzDense, SDPBasedLipschitzResBlock, SLLxAOCLipschitzResBlock } from '../ortho/sll.js';
import { transposeKernel } from '../ortho/conv/kernel-ops.js';
import { EmitContext, Emitter, leafOutput, padNonZero, reshapeKeepingBatch } from './onnx-emit-layers.js';
import { GraphBuilder, Value } from './onnx-graph.js';

const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

function emitSequential(ctx: EmitContext, m: Module, path: string, x: Value): Value {
  let value = x;
  for (const [name, child] of m.namedChildren()) value = ctx.emit(child, path ? `${path}.${name}` : name, value);
  return value;
}

function emitMaxMin(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as MaxMin;
  const { g } = ctx;
  const axis = normAxis(m.axis, x.sample.shape.length);
  // First half a, second half b (our chunk(2)); output [max(a, b), min(a, b)].
  const [a, b] = g.node('Split', [x.name], { name: path, outputs: 2, attributes: { axis } });
  const out = g.op('Concat', [g.op('Max', [a, b], path), g.op('Min', [a, b], path)], path, { axis });
  return leafOutput(m, out, x);
}

function emitGroupSort2(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as GroupSort2;
  const { g } = ctx;
  const shape = x.sample.shape;
  const axis = normAxis(m.axis, shape.length);
  // Adjacent pairs (x₂ᵢ, x₂ᵢ₊₁): view the axis as [size/2, 2] and sort along the 2.
  const pairsShape = [...shape.slice(0, axis), shape[axis] / 2, 2, ...shape.slice(axis + 1)];
  const pairs = reshapeKeepingBatch(g, path, x.name, pairsShape);
  const [a, b] = g.node('Split', [pairs], { name: path, outputs: 2, attributes: { axis: axis + 1 } });
  const sorted = g.op('Concat', [g.op('Max', [a, b], path), g.op('Min', [a, b], path)], path, { axis: axis + 1 });
  return leafOutput(m, reshapeKeepingBatch(g, path, sorted, shape), x);
}

function emitSoftHuber(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as SoftHuber;
  const { g } = ctx;
  const scaled = g.op('Div', [x.name, g.scalar(m.delta)], path);
  const root = g.op('Sqrt', [g.op('Add', [g.op('Mul', [scaled, scaled], path), g.scalar(1)], path)], path);
  return leafOutput(m, g.op('Mul', [g.op('Sub', [root, g.scalar(1)], path), g.scalar(m.delta)], path), x);
}

function emitHouseHolder(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as HouseHolder;
  const { g } = ctx;
  const theta = m.theta.detach();
  const c = (name: string, t: Tensor): string => g.weight(`${path}.${name}`, t);
  const [sinHalf, cosHalf, cos, sin] = [c('sin_half', theta.mul(0.5).sin()), c('cos_half', theta.mul(0.5).cos()), c('cos', theta.cos()), c('sin', theta.sin())];
  const axis = normAxis(m.axis, x.sample.shape.length);
  const [a, b] = g.node('Split', [x.name], { name: path, outputs: 2, attributes: { axis } });
  const mul = (p: string, q: string): string => g.op('Mul', [p, q], path);
  const selector = g.op('Sub', [mul(a, sinHalf), mul(b, cosHalf)], path);
  const keep = g.op('LessOrEqual', [selector, g.scalar(0)], path);
  const reflectedA = g.op('Add', [mul(a, cos), mul(b, sin)], path);
  const reflectedB = g.op('Sub', [mul(a, sin), mul(b, cos)], path);
  const joined = g.op('Concat', [g.op('Where', [keep, a, reflectedA], path), g.op('Where', [keep, b, reflectedB], path)], path, { axis });
  return leafOutput(m, g.op('Div', [joined, g.scalar(Math.SQRT2)], path), x);
}

/** atan2(y, x) from Atan and quadrant corrections (ONNX has no Atan2); 0 where x = y = 0, as torch. */
function atan2(g: GraphBuilder, path: string, y: string, x: string): string {
  const base = g.op('Atan', [g.op('Div', [y, x], path)], path);
  const xNegative = g.op('Less', [x, g.scalar(0)], path);
  const yNonNegative = g.op('GreaterOrEqual', [y, g.scalar(0)], path);
  const shift = g.op('Where', [xNegative, g.op('Where', [yNonNegative, g.scalar(Math.PI), g.scalar(-Math.PI)], path), g.scalar(0)], path);
  const angle = g.op('Add', [base, shift], path);
  const origin = g.op('And', [g.op('Equal', [x, g.scalar(0)], path), g.op('Equal', [y, g.scalar(0)], path)], path);
  return g.op('Where', [origin, g.scalar(0), angle], path);
}

function emitHouseHolderOrder2(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as HouseHolderOrder2;
  const { g } = ctx;
  const twoPi = 2 * Math.PI;
  const angle = (t: Tensor): Tensor => t.detach().view(1, -1, 1, 1).clamp(0, twoPi);
  const [t0, t1, t2] = [angle(m.theta0), angle(m.theta1), angle(m.theta2)];
  const t3 = t1.rsub(twoPi);
  const t4 = t2.rsub(twoPi);
  const a01 = t0.add(t1);
  const c = (name: string, t: Tensor): string => g.weight(`${path}.${name}`, t);
  const axis = normAxis(m.axis, x.sample.shape.length);
  const [a, b] = g.node('Split', [x.name], { name: path, outputs: 2, attributes: { axis } });
  const op = (type: string, p: string, q: string): string => g.op(type, [p, q], path);
  // zθ = (atan2(b, a) − θ₀/2) mod 2π, with torch's remainder: v − 2π·floor(v / 2π).
  const shifted = op('Sub', atan2(g, path, b, a), c('half_theta0', t0.mul(0.5)));
  const zTheta = op('Sub', shifted, op('Mul', g.op('Floor', [op('Div', shifted, g.scalar(twoPi))], path), g.scalar(twoPi)));
  const bounds = [t1.mul(0.5), t1.add(t2).mul(0.5), t1.add(t2).add(t3).mul(0.5), t1.add(t2).add(t3).add(t4).mul(0.5)];
  const boundNames = bounds.map((t, i) => c(`bound${i + 1}`, t));
  const inRange = (lo: string, hi: string): string =>
    g.op('Cast', [g.op('And', [g.op('GreaterOrEqual', [zTheta, lo], path), op('Less', zTheta, hi)], path)], path, { to: 1 });
  const s = [inRange(g.scalar(0), boundNames[0]), inRange(boundNames[0], boundNames[1]), inRange(boundNames[1], boundNames[2]), inRange(boundNames[2], boundNames[3])];
  const rot = (p: string, q: string, cosName: string, sinName: string, sign: 'Add' | 'Sub'): string => op(sign, op('Mul', p, cosName), op('Mul', q, sinName));
  const [cos01, sin01, cos2, sin2, cos0, sin0] = [c('cos01', a01.cos()), c('sin01', a01.sin()), c('cos2', t2.cos()), c('sin2', t2.sin()), c('cos0', t0.cos()), c('sin0', t0.sin())];
  const outA = op('Add', op('Add', op('Add', op('Mul', a, s[0]), op('Mul', rot(a, b, cos01, sin01, 'Add'), s[1])),
    op('Mul', rot(a, b, cos2, sin2, 'Add'), s[2])), op('Mul', rot(a, b, cos0, sin0, 'Add'), s[3]));
  const outB = op('Add', op('Add', op('Add', op('Mul', b, s[0]), op('Mul', rot(a, b, sin01, cos01, 'Sub'), s[1])),
    op('Mul', rot(b, a, cos2, sin2, 'Sub'), s[2])), op('Mul', rot(a, b, sin0, cos0, 'Sub'), s[3]));
  const joined = g.op('Concat', [outA, outB], path, { axis });
  return leafOutput(m, g.op('Div', [joined, g.scalar(Math.SQRT2)], path), x);
}

function emitAdditiveResidual(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as AdditiveResidual;
  const { g } = ctx;
  const gate = m.alpha.detach().sigmoid();
  const branch = ctx.emit(m.fn, `${path}.fn`, x);
  const kept = g.op('Mul', [x.name, g.weight(`${path}.gate`, gate)], path);
  const added = g.op('Mul', [branch.name, g.weight(`${path}.one_minus_gate`, gate.rsub(1))], path);
  return leafOutput(m, g.op('Add', [kept, added], path), x);
}

function emitPrescaledResidual(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as PrescaledAdditiveResidual;
  const { g } = ctx;
  const alpha = m.alpha.detach();
  const scaledName = g.op('Mul', [x.name, g.weight(`${path}.alpha`, alpha)], path);
  const branch = ctx.emit(m.fn, `${path}.fn`, { name: scaledName, sample: x.sample.mul(alpha) });
  const lipschitz = g.weight(`${path}.lipschitz`, alpha.abs().add(1));
  const sum = g.op('Add', [g.op('Div', [x.name, lipschitz], path), g.op('Div', [branch.name, lipschitz], path)], path);
  return leafOutput(m, sum, x);
}

function emitConcatResidual(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as ConcatResidual;
  const { g } = ctx;
  const [kept, processed] = x.sample.chunk(2, 1);
  const sizes = g.ints(`${path}.split`, [kept.shape[1], processed.shape[1]]);
  const [a, b] = g.node('Split', [x.name, sizes], { name: path, outputs: 2, attributes: { axis: 1 } });
  const branch = ctx.emit(m.fn, `${path}.fn`, { name: b, sample: processed });
  return leafOutput(m, g.op('Concat', [a, branch.name], path, { axis: 1 }), x);
}

function emitL2NormResidual(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as L2NormResidual;
  const { g } = ctx;
  const branch = ctx.emit(m.fn, `${path}.fn`, x);
  const halfSquare = (v: string): string => g.op('Mul', [g.op('Mul', [v, v], path), g.scalar(0.5)], path);
  const sum = g.op('Add', [g.op('Add', [halfSquare(x.name), halfSquare(branch.name)], path), g.scalar(m.eps)], path);
  return leafOutput(m, g.op('Sqrt', [sum], path), x);
}

function emitSllConv(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as SDPBasedLipschitzResBlock;
  const { g } = ctx;
  const kernel = g.weight(`${path}.kernel`, m.kernel);
  const k = m.kernelSize;
  const attributes = { kernel_shape: [k, k], pads: [m.padding, m.padding, m.padding, m.padding], group: m.groups };
  const inner = g.op('Relu', [g.op('Add', [g.op('Conv', [x.name, kernel], path, attributes), g.weight(`${path}.bias`, m.bias)], path)], path);
  const back = g.op('ConvTranspose', [inner, kernel], path, attributes);
  return leafOutput(m, g.op('Sub', [x.name, g.op('Mul', [back, g.scalar(2)], path)], path), x);
}

function emitSllDense(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as SDPBasedLipschitzDense;
  const { g } = ctx;
  const weight = m.weight.detach();
  const projected = g.op('MatMul', [x.name, g.weight(`${path}.weight_t`, weight.t())], path);
  const inner = g.op('Relu', [g.op('Add', [projected, g.weight(`${path}.bias`, m.bias)], path)], path);
  const rescaled = g.op('Mul', [inner, g.weight(`${path}.t`, m.computeT())], path);
  const back = g.op('MatMul', [rescaled, g.weight(`${path}.weight`, weight)], path);
  return leafOutput(m, g.op('Sub', [x.name, g.op('Mul', [back, g.scalar(2)], path)], path), x);
}

function emitSllAoc(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as SLLxAOCLipschitzResBlock;
  const { g } = ctx;
  const { residualIn, residualOut, skip } = m.fusedKernels();
  const conv = (input: string, name: string, kernel: Tensor, padding: number, stride: number): string => g.op(
    'Conv', [input, g.weight(`${path}.${name}`, kernel)], path,
    { kernel_shape: [kernel.shape[2], kernel.shape[3]], pads: [padding, padding, padding, padding], strides: [stride, stride], group: m.groups },
  );
  const inner = g.op('Relu', [g.op('Add', [conv(x.name, 'residual_in', residualIn, m.padding, 1), g.weight(`${path}.bias`, m.bias)], path)], path);
  const res = conv(inner, 'residual_out', residualOut, m.padding, m.stride);
  const id = conv(x.name, 'skip', skip, m.skipPadding, m.stride);
  return leafOutput(m, g.op('Sub', [id, g.op('Mul', [res, g.scalar(2)], path)], path), x);
}

/** x − 2·Kᵀ·ReLU(Kx + b), K 'same'-padded (circular or zeros) as the block's forward does. */
function emitAocResBlock(ctx: EmitContext, module: Module, path: string, x: Value): Value {
  const m = module as AOCLipschitzResBlock;
  const { g } = ctx;
  const [left, right, top, bottom] = m.pads;
  const kernel = m.kernel;
  const k = kernel.shape[2];
  const shapeAttributes = { kernel_shape: [k, k], dilations: [m.dilation, m.dilation], group: m.groups };
  const weight = g.weight(`${path}.kernel`, kernel);
  const bias = m.bias ? [g.weight(`${path}.bias`, m.bias)] : [];
  let back: string;
  if (m.paddingMode === 'circular') {
    const padded = padNonZero(g, path, x.name, m.pads, 'circular', x.sample.shape);
    const inner = g.op('Relu', [g.op('Conv', [padded, weight, ...bias], path, shapeAttributes)], path);
    // The adjoint: circular correlation with the flipped, channel-transposed kernel, the padding sides swapped.
    const [batch, , height, width] = x.sample.shape;
    const innerPadded = padNonZero(g, path, inner, [right, left, bottom, top], 'circular', [batch, m.innerDim, height, width]);
    const adjoint = g.weight(`${path}.kernel_adjoint`, transposeKernel(kernel, m.groups, true));
    back = g.op('Conv', [innerPadded, adjoint], path, shapeAttributes);
  } else {
    const pads = [top, left, bottom, right];
    const inner = g.op('Relu', [g.op('Conv', [x.name, weight, ...bias], path, { ...shapeAttributes, pads })], path);
    // The adjoint of zero padding then a valid convolution: the transposed convolution, its pads cropping the border.
    back = g.op('ConvTranspose', [inner, weight], path, { ...shapeAttributes, pads });
  }
  return leafOutput(m, g.op('Sub', [x.name, g.op('Mul', [back, g.scalar(2)], path)], path), x);
}

export const BLOCK_EMITTERS = new Map<Function, Emitter>([
  [Sequential, emitSequential],
  [MaxMin, emitMaxMin],
  [GroupSort2, emitGroupSort2],
  [Abs, (ctx, m, path, x) => leafOutput(m, ctx.g.op('Abs', [x.name], path), x)],
  [SoftHuber, emitSoftHuber],
  [HouseHolder, emitHouseHolder],
  [HouseHolderOrder2, emitHouseHolderOrder2],
  [AdditiveResidual, emitAdditiveResidual],
  [PrescaledAdditiveResidual, emitPrescaledResidual],
  [ConcatResidual, emitConcatResidual],
  [L2NormResidual, emitL2NormResidual],
  [SDPBasedLipschitzResBlock, emitSllConv],
  [SDPBasedLipschitzDense, emitSllDense],
  [SLLxAOCLipschitzResBlock, emitSllAoc],
  [AOCLipschitzResBlock, emitAocResBlock],
]);

export { emitSequential };
