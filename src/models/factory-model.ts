// What every factory-built model shares: it is a Sequential that carries the
// JSON configuration rebuilding it (stored in checkpoints).
import { Module, Sequential } from '../nn/index.js';
import { ClassParam, ClassParamSpec } from './class-param.js';

/** A layer given as a ClassParam, a { type, options } spec, a bare registered name, or null (the identity, or none where optional). */
export type LayerParam = ClassParam | ClassParamSpec | string | null;

/** A model built by the factory, carrying the configuration that rebuilds it. */
export class FactoryModel extends Sequential {
  /** Channels-last activations on CPU by default: the seed model trains and evaluates ~1.4× faster (`npm run bench`). */
  override memoryFormat: Sequential['memoryFormat'] = 'channelsLast';

  constructor(readonly config: ModelConfig, layers: Module[]) {
    super(...layers);
  }
}

export interface ModelConfig {
  architecture: string;
  options: Record<string, unknown>;
}

/** Options with ClassParams replaced by their JSON specs. */
export function serializable(options: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(options)) as Record<string, unknown>;
}
