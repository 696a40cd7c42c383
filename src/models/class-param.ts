// ClassParam: a layer constructor with preset options that calls may
// override, named so it serializes to JSON — a model's whole configuration
// can be stored in its checkpoint and rebuilt from it. Layers are looked up
// by name in a registry (see layer-registry.ts). Also the readable and
// flattened views of configurations that Orthogonium's ClassParam offers
// (get_config, flatten_config, __str__), for logs and experiment trackers.
import { Identity, Module } from '../nn/index.js';

export type LayerOptions = Record<string, unknown>;
export type LayerFactory = (options: LayerOptions) => Module;

const registry = new Map<string, LayerFactory>();

/** Makes a layer constructible by name from configs. */
export function registerLayer(name: string, factory: LayerFactory): void {
  registry.set(name, factory);
}

export const registeredLayers = (): string[] => [...registry.keys()].sort();

/** The JSON form of a ClassParam; `type: null` is the identity. */
export interface ClassParamSpec { type: string | null; options?: LayerOptions }

/** A value of a flattened configuration: what loggers such as WandB or TensorBoard's hparams accept. */
export type FlatValue = string | number | boolean | null;

export class ClassParam {
  readonly options: LayerOptions;

  /**
   * `type` null is Orthogonium's `ClassParam(None)`: the identity (create()
   * returns an Identity module whatever the options, so it can sit in a
   * Sequential; Orthogonium returns a bare `lambda x: x`).
   */
  constructor(readonly type: string | null, options: LayerOptions = {}) {
    if (type !== null && !registry.has(type)) {
      throw new TypeError(`ClassParam: unknown layer type '${type}'; known types: ${registeredLayers().join(', ')}`);
    }
    this.options = { ...options };
  }

  /** True for the identity ClassParam (type null). */
  get isIdentity(): boolean { return this.type === null; }

  /** Builds the layer; options given here override the preset ones (as in Orthogonium). */
  create(overrides: LayerOptions = {}): Module {
    if (this.type === null) return new Identity();
    return registry.get(this.type)!({ ...this.options, ...overrides });
  }

  /** A copy with more preset options. */
  with(options: LayerOptions): ClassParam { return new ClassParam(this.type, { ...this.options, ...options }); }

  /** The spec, or null for the identity (which ClassParam.from and the architectures read back as the identity). */
  toJSON(): ClassParamSpec | null { return this.type === null ? null : { type: this.type, options: this.options }; }

  /**
   * A description of the preset: `{ type, options }` with nested ClassParams,
   * orthoParams and other objects turned into plain values (like Orthogonium's
   * get_config, it is for display and logging; use toJSON to rebuild). With
   * `flatten`, a single-level object keyed by '/'-joined paths (flattenConfig).
   */
  getConfig(options: { flatten?: boolean } = {}): Record<string, unknown> {
    if (options.flatten) return flattenConfig(this);
    return { type: this.type, options: plain(this.options) as Record<string, unknown> };
  }

  /** E.g. `AdaptiveOrthoConv2d(bias=false, padding='same', orthoParams='test')`; the identity is `Identity(null)`. */
  toString(): string {
    return describeLayer(this.type, this.options);
  }

  /** Accepts a ClassParam, a spec object, a bare type name, or null for the identity. */
  static from(value: ClassParam | ClassParamSpec | string | null): ClassParam {
    if (value instanceof ClassParam) return value;
    if (value === null) return new ClassParam(null);
    if (typeof value === 'string') return new ClassParam(value);
    if (typeof value !== 'object' || (typeof value.type !== 'string' && value.type !== null)) {
      throw new TypeError(`ClassParam.from: expected a ClassParam, { type, options }, a type name or null, got ${JSON.stringify(value)}`);
    }
    return new ClassParam(value.type, value.options ?? {});
  }
}

/** A { type, options } object as found in JSON configs. */
function isSpecLike(v: unknown): v is ClassParamSpec {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  const o = v as ClassParamSpec;
  return (typeof o.type === 'string' || o.type === null) && keys.every((k) => k === 'type' || k === 'options') &&
    (o.options === undefined || (typeof o.options === 'object' && o.options !== null && !Array.isArray(o.options)));
}

/** Nested values as plain data: ClassParams as configs, toJSON-able objects as their JSON, functions and modules by name. */
function plain(v: unknown): unknown {
  if (v instanceof ClassParam) return v.getConfig();
  if (v instanceof Module) return v.constructor.name;
  if (typeof v === 'function') return v.name || 'function';
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const withJson = v as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === 'function') return plain(withJson.toJSON());
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

const isPrimitive = (v: unknown): v is FlatValue => v === null || ['string', 'number', 'boolean'].includes(typeof v);

function describeLayer(type: string | null, options: LayerOptions): string {
  if (type === null) return 'Identity(null)';
  return `${type}(${Object.entries(options).map(([k, v]) => `${k}=${describeValue(v)}`).join(', ')})`;
}

/** How a value reads inside toString. */
function describeValue(v: unknown): string {
  if (v instanceof ClassParam) return v.toString();
  if (isSpecLike(v)) return describeLayer(v.type, v.options ?? {});
  if (typeof v === 'string') return `'${v}'`;
  if (v instanceof Module) return v.constructor.name;
  if (typeof v === 'function') return v.name || 'function';
  if (Array.isArray(v)) return `[${v.map(describeValue).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const withJson = v as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === 'function') return describeValue(withJson.toJSON());
    return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${describeValue(x)}`).join(', ')} }`;
  }
  return String(v);
}

/**
 * A configuration (a ClassParam, a model config, an architecture's options,
 * any JSON) as one flat object whose values are strings, numbers, booleans
 * or null, keyed by '/'-joined paths — ready for WandB's `config` or a CSV
 * header, as Orthogonium's flatten_config. A ClassParam or `{ type, options }`
 * under key k gives `k/type` and `k/<option>` (Orthogonium: `k/fct`); an
 * array of plain values is kept readable as one string ("[3, 32, 32]"), other
 * arrays are indexed (`k/0/…`).
 */
export function flattenConfig(config: unknown, prefix: string[] = []): Record<string, FlatValue> {
  const out: Record<string, FlatValue> = {};
  const key = (parts: string[]): string => (parts.length ? parts.join('/') : 'value');
  const walk = (v: unknown, path: string[]): void => {
    if (v instanceof ClassParam) {
      out[key([...path, 'type'])] = v.type;
      for (const [k, x] of Object.entries(v.options)) walk(x, [...path, k]);
      return;
    }
    if (isSpecLike(v)) {
      out[key([...path, 'type'])] = v.type;
      for (const [k, x] of Object.entries(v.options ?? {})) walk(x, [...path, k]);
      return;
    }
    if (isPrimitive(v)) { out[key(path)] = v; return; }
    if (v === undefined) return;
    if (Array.isArray(v)) {
      if (v.every(isPrimitive)) out[key(path)] = describeValue(v);
      else v.forEach((x, i) => walk(x, [...path, String(i)]));
      return;
    }
    if (v instanceof Module || typeof v === 'function') { out[key(path)] = describeValue(v); return; }
    if (typeof v === 'object') {
      const withJson = v as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') { walk(withJson.toJSON(), path); return; }
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
      return;
    }
    out[key(path)] = String(v);
  };
  walk(config, prefix);
  return out;
}
