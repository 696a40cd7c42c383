// A small builder for ONNX graphs: nodes, weights (initializers) and
// constants with unique names, written into a ModelProto by onnx-export.ts.
// Every value carries a batch-1 sample tensor computed by our own layers, so
// emitters know static shapes (channels, spatial sizes) without inference.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { Tensor } from '../torch/index.js';

export const { onnx } = onnxProto;

/** A value of the graph under construction: its ONNX name and what our model computes there (batch of 1). */
export interface Value { name: string; sample: Tensor }

export type Attribute = number | number[] | string | { float: number };

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function attributeProto(name: string, value: Attribute): OnnxTypes.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: A.STRING, s: Buffer.from(value, 'utf8') };
  if (Array.isArray(value)) return { name, type: A.INTS, ints: value };
  if (typeof value === 'object') return { name, type: A.FLOAT, f: value.float };
  if (!Number.isInteger(value)) throw new TypeError(`ONNX attribute '${name}': ${value} is not an integer (wrap floats as { float })`);
  return { name, type: A.INT, i: value };
}

export class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly scalars = new Map<string, string>();

  /** A name not used yet, derived from `hint` (a module path, an op). */
  fresh(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_.]/g, '_') || 'v';
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Adds a node; returns the names of its outputs. */
  node(opType: string, inputs: string[], options: { name: string; attributes?: Record<string, Attribute>; outputs?: number }): string[] {
    const outputs = Array.from({ length: options.outputs ?? 1 }, () => this.fresh(`${options.name}/${opType}`));
    this.nodes.push({
      opType, input: inputs, output: outputs, name: this.fresh(`${options.name}/${opType}_node`),
      attribute: Object.entries(options.attributes ?? {}).map(([k, v]) => attributeProto(k, v)),
    });
    return outputs;
  }

  /** A single-output node. */
  op(opType: string, inputs: string[], name: string, attributes?: Record<string, Attribute>): string {
    return this.node(opType, inputs, { name, attributes })[0];
  }

  /** A float32 weight from a tensor (copied to the CPU and converted). */
  weight(name: string, t: Tensor): string {
    const data = t.detach().float().contiguous().dataSync() as Float32Array;
    const unique = this.fresh(name);
    this.initializers.push({
      name: unique, dataType: FLOAT, dims: t.shape, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
    });
    return unique;
  }

  /** A float32 constant with the given shape (a scalar when shape is []). */
  floats(name: string, values: number[], shape: number[] = [values.length]): string {
    const unique = this.fresh(name);
    this.initializers.push({ name: unique, dataType: FLOAT, dims: shape, floatData: values });
    return unique;
  }

  /** A float32 scalar constant, shared by every node that uses the same value. */
  scalar(value: number): string {
    const key = Object.is(value, -0) ? '-0' : String(value);
    let name = this.scalars.get(key);
    if (name === undefined) {
      name = this.floats('const', [value], []);
      this.scalars.set(key, name);
    }
    return name;
  }

  /** An int64 vector constant (shapes, pads, split sizes, slice bounds). */
  ints(name: string, values: number[]): string {
    const unique = this.fresh(name);
    this.initializers.push({ name: unique, dataType: INT64, dims: [values.length], int64Data: values });
    return unique;
  }
}

/** The ONNX value info of a float tensor whose first dimension is the batch. */
export function valueInfo(name: string, shape: number[], batchName = 'N'): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d, i) => (i === 0 ? { dimParam: batchName } : { dimValue: d })) } } },
  };
}
