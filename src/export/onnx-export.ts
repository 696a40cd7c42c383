// Model-level ONNX export: walks the module tree, emits each module's nodes
// (onnx-emit-*.ts), and writes a ModelProto (opset 17) whose metadata says how
// to certify with it: Lipschitz constant, head type, input normalization,
// class names and input shape.
import { Tensor, noGrad, scope, tensor, zeros } from '../torch/index.js';
import { Module } from '../nn/index.js';
import { resolveLastLayer } from '../losses/certify.js';
import { lipschitzFromStd } from '../losses/certificates.js';
import type { LastLayer } from '../losses/checks.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { EmitContext, Emitter, LAYER_EMITTERS, orthoConvEmitter } from './onnx-emit-layers.js';
import { BLOCK_EMITTERS } from './onnx-emit-blocks.js';
import { GraphBuilder, Value, onnx, valueInfo } from './onnx-graph.js';

export const ONNX_OPSET = 17;
// IR version 8 is the one that goes with opset 17 (ONNX 1.12).
const IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Input shape without the batch dimension, e.g. [1, 28, 28]. The batch stays dynamic. */
  inputShape: number[];
  /** Per-channel normalization the model expects its input to have had (recorded; see normalizeInput). */
  mean?: number[];
  std?: number[];
  /** Put (x − mean) / std into the graph, so it takes raw pixels in [0, 1] (default false: the graph takes what our model takes). */
  normalizeInput?: boolean;
  classNames?: string[];
  /** Head type for certificates; 'auto' (default) reads it from the model (OrthoLinear → global, UnitNormLinear → classwise). */
  lastLayer?: LastLayer | 'auto';
  /** Lipschitz constant from the raw input (default 1 / min(std), or 1 without std). */
  lipschitz?: number;
  /** More metadata_props entries. */
  metadata?: Record<string, string>;
  inputName?: string;
  outputName?: string;
}

/** The emitter of a module: by class, or the nearest ancestor class whose forward the module does not override. */
function emitterFor(m: Module): Emitter | undefined {
  const ortho = orthoConvEmitter(m);
  if (ortho) return ortho;
  for (let proto = Object.getPrototypeOf(m); proto && proto !== Module.prototype; proto = Object.getPrototypeOf(proto)) {
    const ctor = proto.constructor as Function;
    const emitter = LAYER_EMITTERS.get(ctor) ?? BLOCK_EMITTERS.get(ctor);
    if (emitter) return m.forward === proto.forward ? emitter : undefined;
  }
  return undefined;
}

export const supportedOnnxModules = (): string[] =>
  [...LAYER_EMITTERS.keys(), ...BLOCK_EMITTERS.keys()].map((c) => c.name).concat('OrthoConv2d*', 'OrthoConvTranspose2d*').sort();

function metadataProps(model: Module, o: OnnxExportOptions): Record<string, string> {
  const { mean, std } = o;
  if ((mean === undefined) !== (std === undefined)) throw new TypeError('exportOnnx: give both mean and std, or neither');
  if (mean && std) {
    if (mean.length !== std.length || mean.length !== o.inputShape[0]) {
      throw new RangeError(`exportOnnx: mean (${mean.length}) and std (${std.length}) must have one value per input channel (${o.inputShape[0]})`);
    }
  }
  if (o.normalizeInput && !std) throw new TypeError('exportOnnx: normalizeInput needs mean and std');
  const lipschitz = o.lipschitz ?? (std ? lipschitzFromStd(std) : 1);
  if (!(lipschitz > 0 && Number.isFinite(lipschitz))) throw new RangeError(`exportOnnx: lipschitz must be a finite number > 0, got ${lipschitz}`);
  const lastLayer = resolveLastLayer(model, o.lastLayer ?? 'auto', 'exportOnnx');
  const props: Record<string, string> = {
    lipschitz: String(lipschitz),
    last_layer: lastLayer,
    certificate: lastLayer === 'global' ? '(f_y - max_{i != y} f_i) / (sqrt(2) * lipschitz)' : '(f_y - max_{i != y} f_i) / (2 * lipschitz)',
    input_shape: JSON.stringify(o.inputShape),
    input_normalized_in_graph: String(o.normalizeInput ?? false),
  };
  if (mean && std) {
    props.input_mean = JSON.stringify(mean);
    props.input_std = JSON.stringify(std);
  }
  if (o.classNames) props.class_names = JSON.stringify(o.classNames);
  return { ...props, ...o.metadata };
}

function checkInputShape(shape: unknown): asserts shape is number[] {
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new TypeError(`exportOnnx: inputShape must be a list of positive integers without the batch (e.g. [1, 28, 28]), got ${JSON.stringify(shape)}`);
  }
}

/**
 * The model as ONNX bytes (a ModelProto, opset 17, float32). The model is
 * run in eval mode (its mode is restored afterwards) and not modified:
 * orthogonal layers are written through their explicit kernels. Throws,
 * naming the module path and type, when a module has no ONNX equivalent here.
 */
export function exportOnnx(model: Module, options: OnnxExportOptions): Uint8Array {
  if (!(model instanceof Module)) throw new TypeError('exportOnnx: model must be a Module');
  checkInputShape(options?.inputShape);
  const props = metadataProps(model, options);
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'logits';
  const g = new GraphBuilder();
  g.fresh(inputName);
  const wasTraining = model.training;
  model.eval();
  try {
    return scope(() => noGrad(() => {
      const first = model.parameters()[0];
      let sample: Tensor = zeros([1, ...options.inputShape], { dtype: first?.dtype === 'float64' ? 'float64' : 'float32', device: first?.device });
      let x: Value = { name: inputName, sample };
      if (options.normalizeInput) {
        const shape = [1, options.inputShape[0], ...options.inputShape.slice(1).map(() => 1)];
        const mean = g.floats('input_mean', options.mean!, shape);
        const std = g.floats('input_std', options.std!, shape);
        sample = sample.sub(tensor(options.mean!).view(shape)).div(tensor(options.std!).view(shape));
        x = { name: g.op('Div', [g.op('Sub', [inputName, mean], 'normalize'), std], 'normalize'), sample };
      }
      const ctx: EmitContext = {
        g,
        emit(m: Module, path: string, value: Value): Value {
          const emitter = emitterFor(m);
          if (!emitter) {
            throw new Error(`ONNX export: module '${path || '(root)'}' of type ${m.typeName} is not supported; supported: ${supportedOnnxModules().join(', ')}`);
          }
          return emitter(ctx, m, path, value);
        },
      };
      const out = ctx.emit(model, '', x);
      // The graph output needs its own name (and a node, when the model is the identity).
      g.nodes.push({ opType: 'Identity', input: [out.name], output: [outputName], name: g.fresh('output') });
      const proto = onnx.ModelProto.create({
        irVersion: IR_VERSION,
        opsetImport: [{ domain: '', version: ONNX_OPSET }],
        producerName: 'orthogonium-ts',
        graph: {
          name: model.typeName,
          node: g.nodes,
          initializer: g.initializers,
          input: [valueInfo(inputName, [1, ...options.inputShape])],
          output: [valueInfo(outputName, out.sample.shape)],
        },
        metadataProps: Object.entries(props).map(([key, value]) => ({ key, value })),
      });
      return onnx.ModelProto.encode(proto).finish();
    }));
  } finally {
    model.train(wasTraining);
  }
}

/** exportOnnx, written atomically to `path`. */
export function saveOnnx(model: Module, path: string, options: OnnxExportOptions): void {
  writeFileAtomic(path, exportOnnx(model, options));
}

/** The metadata_props of ONNX bytes, as a plain object (for consumers and tests). */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const model = onnx.ModelProto.decode(bytes);
  return Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
}
