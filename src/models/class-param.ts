// ClassParam: a layer constructor with preset options that calls may
// override, named so it serializes to JSON — a model's whole configuration
// can be stored in its checkpoint and rebuilt from it. Layers are looked up
// by name in a registry (see layer-registry.ts).
import type { Module } from '../nn/index.js';

export type LayerOptions = Record<string, unknown>;
export type LayerFactory = (options: LayerOptions) => Module;

const registry = new Map<string, LayerFactory>();

/** Makes a layer constructible by name from configs. */
export function registerLayer(name: string, factory: LayerFactory): void {
  registry.set(name, factory);
}

export const registeredLayers = (): string[] => [...registry.keys()].sort();

export interface ClassParamSpec { type: string; options?: LayerOptions }

export class ClassParam {
  readonly options: LayerOptions;

  constructor(readonly type: string, options: LayerOptions = {}) {
    if (!registry.has(type)) {
      throw new TypeError(`ClassParam: unknown layer type '${type}'; known types: ${registeredLayers().join(', ')}`);
    }
    this.options = { ...options };
  }

  /** Builds the layer; options given here override the preset ones (as in Orthogonium). */
  create(overrides: LayerOptions = {}): Module {
    return registry.get(this.type)!({ ...this.options, ...overrides });
  }

  /** A copy with more preset options. */
  with(options: LayerOptions): ClassParam { return new ClassParam(this.type, { ...this.options, ...options }); }

  toJSON(): ClassParamSpec { return { type: this.type, options: this.options }; }

  /** Accepts a ClassParam, a spec object or a bare type name. */
  static from(value: ClassParam | ClassParamSpec | string): ClassParam {
    if (value instanceof ClassParam) return value;
    if (typeof value === 'string') return new ClassParam(value);
    if (value === null || typeof value !== 'object' || typeof value.type !== 'string') {
      throw new TypeError(`ClassParam.from: expected a ClassParam, { type, options } or a type name, got ${JSON.stringify(value)}`);
    }
    return new ClassParam(value.type, value.options ?? {});
  }
}
