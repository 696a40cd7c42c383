// What every factory-built model shares: it is a Sequential that carries the
// JSON configuration rebuilding it (stored in checkpoints).
import { Tensor, scope } from '../torch/index.js';
import { Module, Sequential } from '../nn/index.js';
import { ClassParam, ClassParamSpec } from './class-param.js';

/** A layer given as a ClassParam, a { type, options } spec or a bare registered name. */
export type LayerParam = ClassParam | ClassParamSpec | string;

/** A model built by the factory, carrying the configuration that rebuilds it. */
export class FactoryModel extends Sequential {
  /**
   * Layout of the activations of image inputs on CPU. 'channelsLast' (NHWC,
   * the default) lets oneDNN convolve without reordering every input and
   * output (about 1.4× faster training and evaluation of the seed model on
   * CPU); 'contiguous' keeps PyTorch's default NCHW. Results are the same up
   * to float rounding.
   */
  memoryFormat: 'channelsLast' | 'contiguous' = 'channelsLast';

  constructor(readonly config: ModelConfig, layers: Module[]) {
    super(...layers);
  }

  override forward(input: Tensor): Tensor {
    if (this.memoryFormat !== 'channelsLast' || input.dim() !== 4 || input.device !== 'cpu') return super.forward(input);
    return scope(() => super.forward(input.contiguousChannelsLast()));
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
