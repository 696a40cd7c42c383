// summary(model, inputShape): a torchinfo-like table of a model's layers —
// output shapes from one recorded forward pass, parameter counts and
// mult-adds — followed by totals.
//
// Unlike torchinfo on Orthogonium (which reports "Total mult-adds: 0" and
// "Params size (MB): 0.00" for parametrized models, because its hooks only
// see the parametrization's ModuleDict), parametrized layers are counted
// here from their explicit kernels: every module that looks like a
// convolution (inChannels, outChannels, kernelSize) or a linear layer
// (inFeatures, outFeatures) and exposes a `weight` tensor is measured
// through that getter, which builds the explicit kernel of the orthogonal
// layers (BCOP, RKO, BCOP×RKO, OrthoLinear, …) and returns the plain
// parameter of nn.Conv2d / nn.Linear.
//
// Two parameter counts are reported side by side:
//  - raw ("Param #", "Total params (raw)"): the tensors that are trained and
//    stored in checkpoints — parametrization originals
//    (`parametrizations.<name>.original`), biases, scalars …;
//  - explicit ("Kernel #", "Total params (explicit kernels)"): what a plain
//    network computing the same function holds (see ortho/plain.ts): for a
//    conv / linear layer, its explicit weight plus bias, whatever raw tensors
//    it is computed from; for any other module, its own parameters, with a
//    parametrized tensor counted at the size of its computed value.
//
// Buffers (power-iteration vectors, running statistics) are state, not
// parameters: they are in neither count, nor in "Non-trainable params", which
// counts registered parameters with requiresGrad off, as torchinfo does.
// They are reported on a separate line. Orthogonium registers its
// power-iteration vectors as parameters with requires_grad=False, so the
// seed's torchinfo output lists them as "Non-trainable params" (130,838 for
// the seed model); here the same numbers appear as buffers.
//
// Sizes follow torchinfo (model_statistics.py / layer_info.py):
//  - Input size: numel × element size of the input;
//  - Forward/backward pass size: for every call of a leaf layer (no children
//    besides its parametrizations) that holds parameters, its output bytes × 2
//    (activations and their gradients);
//  - Params size: bytes of the raw parameters (torchinfo sums them over leaf
//    layers only, which is why it reports 0.00 MB on parametrized models).
// Mult-adds follow torchinfo's conventions, applied to the explicit kernel:
//  - Conv2d: (weight + bias numel) × N × H_out × W_out;
//  - ConvTranspose2d: weight numel × N × H_in × W_in (each input pixel meets
//    the whole kernel; torchinfo uses the output size here, which overcounts
//    by stride²) + bias numel × N × H_out × W_out;
//  - Linear: (weight + bias numel) × (product of the output's leading dims);
//  - any other leaf with parameters named weight / bias (normalizations):
//    their numel × batch size, as torchinfo does.
import { Tensor, noGrad, scope, zeros } from '../torch/index.js';
import type { DType } from '../torch/index.js';
import type { Module } from '../nn/module.js';
import { ParametrizationList } from '../nn/parametrize.js';
import { SUMMARY_COLUMNS, renderSummary } from './summary-format.js';
import type { SummaryColumn } from './summary-format.js';

export { SUMMARY_COLUMNS };
export type { SummaryColumn };

export interface SummaryOptions {
  /** Batch size of the zero input the forward pass runs on (default 1). */
  batchSize?: number;
  /** Deepest level shown in the table (default 3, like torchinfo); `layers` always holds every level. */
  depth?: number;
  /** Element type of the input (default: the dtype of the model's first floating parameter, else float32). */
  dtype?: DType;
  /** Table columns after the layer name (default ['outputShape', 'params', 'kernelParams']). */
  columns?: SummaryColumn[];
}

/** One row: one call of a module (a module called twice appears twice), or a container that was never called. */
export interface SummaryLayer {
  /** Dotted path in the model ('' for the model itself). */
  name: string;
  /** Class name. */
  type: string;
  /** 0 for the model, 1 for its children, … */
  depth: number;
  /** torchinfo's running index among the rows of the same depth (0 for the model). */
  depthIndex: number;
  /** False for a container listed because its children were called, or for a module never called. */
  called: boolean;
  /** True when the same module instance already appeared in an earlier row (its parameters are counted once). */
  recursive: boolean;
  /** No children besides its parametrizations. */
  leaf: boolean;
  inputShape: number[] | null;
  /** Shape of the (first) output tensor; null when not called. */
  outputShape: number[] | null;
  /** Shapes of every output tensor (several when the module returns an array or object of tensors). */
  outputShapes: number[][];
  outputBytes: number;
  /** Raw parameters of the module and everything under it (parametrization originals included). */
  params: number;
  trainableParams: number;
  /** Raw parameters not held by a child row: the module's own, plus its parametrizations'. */
  ownParams: number;
  /** Explicit parameter count of the module and everything under it. */
  kernelParams: number;
  ownKernelParams: number;
  /** Shape of the explicit weight of a conv / linear layer, else null. */
  kernelShape: number[] | null;
  /** Mult-adds of this call, including the calls it contains. */
  multAdds: number;
  /** Mult-adds of this call's own computation (0 for containers). */
  ownMultAdds: number;
}

export interface SummaryTotals {
  /** Raw parameter elements (each tensor once). */
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** Explicit-kernel parameter count (what the equivalent plain network holds). */
  explicitParams: number;
  /** Elements of buffers (state that is not a parameter). */
  bufferElements: number;
  multAdds: number;
  inputBytes: number;
  forwardBackwardBytes: number;
  paramsBytes: number;
  totalBytes: number;
  /** The same sizes in MB (1e6 bytes), as printed. */
  inputSizeMB: number;
  forwardBackwardSizeMB: number;
  paramsSizeMB: number;
  totalSizeMB: number;
}

export interface ModelSummary {
  text: string;
  totals: SummaryTotals;
  layers: SummaryLayer[];
}

/** The error thrown when the recorded forward pass fails; `cause` holds the original error. */
export class SummaryError extends Error {
  constructor(message: string, readonly modulePath: string, readonly moduleType: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SummaryError';
  }
}

const ELEMENT_SIZES: Record<DType, number> = {
  uint8: 1, int8: 1, bool: 1, int16: 2, float16: 2, bfloat16: 2, int32: 4, float32: 4, int64: 8, float64: 8, complex64: 8, complex128: 16,
};

/** Bytes per element of a dtype. */
export const elementSize = (dtype: DType): number => ELEMENT_SIZES[dtype];

const tensorBytes = (t: Tensor): number => t.numel() * ELEMENT_SIZES[t.dtype];
const product = (values: number[]): number => values.reduce((a, b) => a * b, 1);

type KernelKind = 'conv' | 'convTranspose' | 'linear';

interface KernelInfo {
  kind: KernelKind;
  shape: number[];
  weightNumel: number;
  biasNumel: number;
}

interface ModuleStats {
  leaf: boolean;
  kernel: KernelInfo | null;
  params: number;
  trainableParams: number;
  ownParams: number;
  kernelParams: number;
  ownKernelParams: number;
  /** Numel of directly registered parameters named weight / bias (torchinfo's mult-add rule for other layers). */
  weightBiasNumel: number;
}

interface CallNode {
  module: Module;
  path: string;
  depth: number;
  called: boolean;
  children: CallNode[];
  inputShape: number[] | null;
  outputShapes: number[][];
  outputBytes: number;
}

const PARAMETRIZATIONS = 'parametrizations';

/** Children that are layers: everything but the parametrization dict. */
function layerChildren(m: Module): [string, Module][] {
  return [...m.namedChildren()].filter(([name]) => name !== PARAMETRIZATIONS);
}

function parametrizationLists(m: Module): ParametrizationList[] {
  const dict = [...m.namedChildren()].find(([name]) => name === PARAMETRIZATIONS)?.[1];
  return dict ? dict.children().filter((c): c is ParametrizationList => c instanceof ParametrizationList) : [];
}

/** The explicit weight of a conv-like or linear-like module, measured under noGrad (null for other modules). */
function kernelInfo(m: Module): KernelInfo | null {
  const r = m as unknown as Record<string, unknown>;
  const convLike = typeof r.inChannels === 'number' && typeof r.outChannels === 'number' && r.kernelSize !== undefined;
  const linearLike = typeof r.inFeatures === 'number' && typeof r.outFeatures === 'number';
  if (!convLike && !linearLike) return null;
  const kind: KernelKind = linearLike && !convLike ? 'linear'
    : ('outputPadding' in r || m.typeName.includes('Transpose') ? 'convTranspose' : 'conv');
  return scope(() => noGrad(() => {
    // The getter may return a registered parameter (plain layers) or a fresh
    // handle on a computed kernel; the scope frees only the latter.
    const weight = r.weight;
    if (!(weight instanceof Tensor)) return null;
    const bias = r.bias instanceof Tensor ? r.bias.numel() : 0;
    return { kind, shape: weight.shape, weightNumel: weight.numel(), biasNumel: bias };
  }));
}

function computeStats(m: Module, cache: Map<Module, ModuleStats>): ModuleStats {
  const known = cache.get(m);
  if (known) return known;
  const children = layerChildren(m);
  const all = m.parameters();
  const params = all.reduce((n, p) => n + p.numel(), 0);
  const trainableParams = all.filter((p) => p.requiresGrad).reduce((n, p) => n + p.numel(), 0);
  const childStats = children.map(([, c]) => computeStats(c, cache));
  const childParams = children.map(([, c]) => c.parameters()).flat();
  const inChildren = new Set(childParams);
  const ownParams = all.filter((p) => !inChildren.has(p)).reduce((n, p) => n + p.numel(), 0);
  const direct = [...m.namedParameters('', false)];
  const weightBiasNumel = direct.filter(([name]) => name === 'weight' || name === 'bias').reduce((n, [, p]) => n + p.numel(), 0);
  const kernel = kernelInfo(m);
  let ownKernelParams: number;
  let kernelParams: number;
  if (kernel) {
    // Everything under a conv / linear layer is replaced by its explicit weight and bias.
    ownKernelParams = kernel.weightNumel + kernel.biasNumel;
    kernelParams = ownKernelParams;
  } else {
    const computed = scope(() => noGrad(() => parametrizationLists(m).reduce((n, list) => n + list.compute().numel(), 0)));
    ownKernelParams = direct.reduce((n, [, p]) => n + p.numel(), 0) + computed;
    kernelParams = ownKernelParams + childStats.reduce((n, s) => n + s.kernelParams, 0);
  }
  const stats: ModuleStats = {
    leaf: children.length === 0, kernel, params, trainableParams, ownParams, kernelParams, ownKernelParams, weightBiasNumel,
  };
  cache.set(m, stats);
  return stats;
}

/** Explicit parameter count of the whole model, each module once. */
function explicitTotal(root: Module, cache: Map<Module, ModuleStats>): number {
  const seen = new Set<Module>();
  const visit = (m: Module): number => {
    if (seen.has(m)) return 0;
    seen.add(m);
    const s = computeStats(m, cache);
    if (s.kernel) return s.ownKernelParams;
    return s.ownKernelParams + layerChildren(m).reduce((n, [, c]) => n + visit(c), 0);
  };
  return visit(root);
}

function collectTensors(value: unknown, out: Tensor[], seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) out.push(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, out, seen);
}

function checkOptions(inputShape: readonly number[], options: SummaryOptions): { batchSize: number; depth: number; columns: SummaryColumn[] } {
  if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new RangeError(`summary: inputShape must be a non-empty array of positive integers (without the batch dimension), got ${JSON.stringify(inputShape)}`);
  }
  const batchSize = options.batchSize ?? 1;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`summary: batchSize must be a positive integer, got ${batchSize}`);
  const depth = options.depth ?? 3;
  if (!(depth === Infinity || (Number.isInteger(depth) && depth >= 0))) throw new RangeError(`summary: depth must be a non-negative integer or Infinity, got ${depth}`);
  const columns = options.columns ?? ['outputShape', 'params', 'kernelParams'];
  const unknown = columns.filter((c) => !SUMMARY_COLUMNS.includes(c));
  if (unknown.length > 0) throw new TypeError(`summary: unknown column(s) ${unknown.join(', ')}; expected some of ${SUMMARY_COLUMNS.join(', ')}`);
  if (options.dtype !== undefined && !(options.dtype in ELEMENT_SIZES)) {
    throw new TypeError(`summary: unknown dtype '${String(options.dtype)}'; expected one of ${Object.keys(ELEMENT_SIZES).join(', ')}`);
  }
  return { batchSize, depth, columns };
}

/**
 * Runs one forward pass (eval mode, no gradients) on zeros of shape
 * [batchSize, ...inputShape], recording each module call, and returns the
 * table text, the totals and one entry per row. Prints nothing. The model's
 * forwards and train/eval modes are restored afterwards, also on error.
 */
export function summary(model: Module, inputShape: readonly number[], options: SummaryOptions = {}): ModelSummary {
  const { batchSize, depth, columns } = checkOptions(inputShape, options);
  const firstParam = model.parameters()[0] ?? model.buffers()[0];
  const floating = model.parameters().find((p) => p.dtype === 'float32' || p.dtype === 'float64' || p.dtype === 'float16' || p.dtype === 'bfloat16');
  const dtype: DType = options.dtype ?? floating?.dtype ?? 'float32';
  const device = firstParam?.device ?? 'cpu';
  const shape = [batchSize, ...inputShape];

  // Paths of the modules that are layers (parametrization internals are not).
  const paths = new Map<Module, string>();
  const visitPaths = (m: Module, path: string): void => {
    if (paths.has(m)) return;
    paths.set(m, path);
    for (const [name, c] of layerChildren(m)) visitPaths(c, path ? `${path}.${name}` : name);
  };
  visitPaths(model, '');

  const modes = [...model.modules()].map((m) => [m, m.training] as const);
  const stack: CallNode[] = [];
  const recorded: { root: CallNode | null } = { root: null };
  const restores: (() => void)[] = [];

  const attach = (module: Module): CallNode => {
    const path = paths.get(module) ?? '';
    const parent = stack.at(-1);
    const node = (at: CallNode | null, d: number, m: Module, p: string, called: boolean): CallNode => {
      const n: CallNode = { module: m, path: p, depth: d, called, children: [], inputShape: null, outputShapes: [], outputBytes: 0 };
      at?.children.push(n);
      return n;
    };
    if (!parent) {
      const n = node(null, 0, module, path, true);
      recorded.root ??= n;
      return n;
    }
    let at = parent;
    const under = parent.path === '' ? path !== '' : path.startsWith(`${parent.path}.`);
    if (under) {
      // Containers between the caller and the callee that were not called themselves (ModuleList …) get a row, once.
      const rest = path.slice(parent.path === '' ? 0 : parent.path.length + 1).split('.');
      let prefix = parent.path;
      for (const part of rest.slice(0, -1)) {
        prefix = prefix ? `${prefix}.${part}` : part;
        const last = at.children.at(-1);
        at = last && !last.called && last.path === prefix ? last : node(at, at.depth + 1, model.getSubmodule(prefix), prefix, false);
      }
    }
    return node(at, at.depth + 1, module, path, true);
  };

  for (const module of paths.keys()) {
    const original = module.forward;
    const hadOwn = Object.prototype.hasOwnProperty.call(module, 'forward');
    module.forward = function summaryRecorder(this: unknown, ...args: unknown[]): unknown {
      const n = attach(module);
      const inputs: Tensor[] = [];
      collectTensors(args, inputs);
      n.inputShape = inputs[0]?.shape ?? null;
      stack.push(n);
      try {
        const out = (original as (...a: unknown[]) => unknown).apply(module, args);
        const outputs: Tensor[] = [];
        collectTensors(out, outputs);
        n.outputShapes = outputs.map((t) => t.shape);
        n.outputBytes = outputs.reduce((b, t) => b + tensorBytes(t), 0);
        return out;
      } catch (error) {
        if (error instanceof SummaryError) throw error;
        const message = error instanceof Error ? error.message : String(error);
        const where = n.path === '' ? 'the model' : `'${n.path}'`;
        throw new SummaryError(`summary: the forward pass failed in ${module.typeName} (${where}) on input ` +
          `[${n.inputShape?.join(', ') ?? ''}]: ${message}`, n.path, module.typeName, { cause: error });
      } finally {
        stack.pop();
      }
    } as Module['forward'];
    restores.push(() => {
      if (hadOwn) module.forward = original;
      else delete (module as unknown as Record<string, unknown>).forward;
    });
  }

  const cache = new Map<Module, ModuleStats>();
  let inputBytes = 0;
  try {
    try {
      model.eval();
      scope(() => noGrad(() => {
        const x = zeros(shape, { dtype, device });
        inputBytes = tensorBytes(x);
        model.forward(x);
      }));
    } finally {
      for (const restore of restores) restore();
    }
    computeStats(model, cache);
    for (const m of paths.keys()) computeStats(m, cache);
  } finally {
    // Parents first (pre-order): train(mode) recurses into the children, which then get their own saved mode back.
    for (const [m, training] of modes) if (m.training !== training) m.train(training);
  }
  const rootNode = recorded.root;
  if (!rootNode) throw new Error(`summary: ${model.typeName}.forward returned without going through the recorded forward`);

  // Modules that were never called still get a row, under their parent's first row.
  const appeared = new Set<Module>();
  const markAppeared = (n: CallNode): void => {
    appeared.add(n.module);
    n.children.forEach(markAppeared);
  };
  markAppeared(rootNode);
  const addUncalled = (n: CallNode): void => {
    for (const c of n.children) addUncalled(c);
    if (paths.get(n.module) !== n.path) return;
    for (const [name, child] of layerChildren(n.module)) {
      if (appeared.has(child)) continue;
      appeared.add(child);
      const u: CallNode = { module: child, path: n.path ? `${n.path}.${name}` : name, depth: n.depth + 1, called: false, children: [], inputShape: null, outputShapes: [], outputBytes: 0 };
      n.children.push(u);
      addUncalled(u);
    }
  };
  addUncalled(rootNode);

  // Mult-adds, bottom-up; an outer conv/linear whose inner calls already count is not counted twice.
  const macsOf = new Map<CallNode, { own: number; inclusive: number }>();
  const macs = (n: CallNode): number => {
    const inner = n.children.reduce((s, c) => s + macs(c), 0);
    const s = computeStats(n.module, cache);
    let own = 0;
    const out = n.outputShapes[0];
    if (n.called && out && inner === 0) {
      const k = s.kernel;
      if (k?.kind === 'conv' && out.length >= 3) {
        own = (k.weightNumel + k.biasNumel) * product(out.slice(0, -3)) * product(out.slice(-2));
      } else if (k?.kind === 'convTranspose' && out.length >= 3 && n.inputShape && n.inputShape.length >= 3) {
        own = k.weightNumel * product(n.inputShape.slice(0, -3)) * product(n.inputShape.slice(-2))
          + k.biasNumel * product(out.slice(0, -3)) * product(out.slice(-2));
      } else if (k?.kind === 'linear') {
        own = (k.weightNumel + k.biasNumel) * product(out.slice(0, -1));
      } else if (!k && s.leaf && s.weightBiasNumel > 0) {
        own = (out[0] ?? 1) * s.weightBiasNumel;
      }
    }
    macsOf.set(n, { own, inclusive: own + inner });
    return own + inner;
  };
  const totalMacs = macs(rootNode);

  // Rows in call order, with torchinfo's per-depth running index.
  const layers: SummaryLayer[] = [];
  const counters = new Map<number, number>();
  const listed = new Set<Module>();
  let forwardBackwardBytes = 0;
  const flatten = (n: CallNode): void => {
    const s = computeStats(n.module, cache);
    const index = n.depth === 0 ? 0 : (counters.get(n.depth) ?? 0) + 1;
    if (n.depth > 0) counters.set(n.depth, index);
    const m = macsOf.get(n)!;
    if (n.called && s.leaf && s.params > 0) forwardBackwardBytes += n.outputBytes * 2;
    layers.push({
      name: n.path, type: n.module.typeName, depth: n.depth, depthIndex: index, called: n.called, recursive: listed.has(n.module), leaf: s.leaf,
      inputShape: n.inputShape, outputShape: n.outputShapes[0] ?? null, outputShapes: n.outputShapes, outputBytes: n.outputBytes,
      params: s.params, trainableParams: s.trainableParams, ownParams: s.ownParams,
      kernelParams: s.kernelParams, ownKernelParams: s.ownKernelParams, kernelShape: s.kernel?.shape ?? null,
      multAdds: m.inclusive, ownMultAdds: m.own,
    });
    listed.add(n.module);
    n.children.forEach(flatten);
  };
  flatten(rootNode);

  const params = model.parameters();
  const totalParams = params.reduce((n, p) => n + p.numel(), 0);
  const trainableParams = params.filter((p) => p.requiresGrad).reduce((n, p) => n + p.numel(), 0);
  const paramsBytes = params.reduce((n, p) => n + tensorBytes(p), 0);
  const bufferElements = [...new Set(model.buffers())].reduce((n, b) => n + b.numel(), 0);
  const totalBytes = inputBytes + forwardBackwardBytes + paramsBytes;
  const totals: SummaryTotals = {
    totalParams, trainableParams, nonTrainableParams: totalParams - trainableParams,
    explicitParams: explicitTotal(model, cache), bufferElements, multAdds: totalMacs,
    inputBytes, forwardBackwardBytes, paramsBytes, totalBytes,
    inputSizeMB: inputBytes / 1e6, forwardBackwardSizeMB: forwardBackwardBytes / 1e6, paramsSizeMB: paramsBytes / 1e6, totalSizeMB: totalBytes / 1e6,
  };
  return { text: renderSummary(layers, totals, { depth, columns }), totals, layers };
}
