// The registry of architectures by name, which rebuilds a model from its
// JSON configuration (as stored in checkpoints).
import { ConvMixerInspired, ConvMixerInspiredOptions, PatchBasedExpandedCNN, PatchBasedExpandedCNNOptions } from './architectures.js';
import { MORE_ARCHITECTURES } from './architectures-staged.js';
import { SLLxBCOPResNet50, SLLxBCOPResNet50Options } from './architectures-sll.js';
import { FactoryModel, ModelConfig } from './factory-model.js';

type Builder = (options: Record<string, unknown>) => FactoryModel;

const ARCHITECTURES = new Map<string, Builder>([
  ['PatchBasedExpandedCNN', (o) => PatchBasedExpandedCNN(o as PatchBasedExpandedCNNOptions)],
  // Orthogonium's own spelling.
  ['PatchBasedExapandedCNN', (o) => PatchBasedExpandedCNN(o as PatchBasedExpandedCNNOptions)],
  ['ConvMixerInspired', (o) => ConvMixerInspired(o as ConvMixerInspiredOptions)],
  ...MORE_ARCHITECTURES,
  ['SLLxBCOPResNet50', (o) => SLLxBCOPResNet50(o as SLLxBCOPResNet50Options)],
]);

export const architectureNames = (): string[] => [...ARCHITECTURES.keys()];

/** Rebuilds a model from its configuration (as stored in checkpoints). */
export function buildModel(config: ModelConfig): FactoryModel {
  const builder = ARCHITECTURES.get(config.architecture);
  if (!builder) throw new TypeError(`unknown architecture '${config.architecture}'; known: ${architectureNames().join(', ')}`);
  return builder(config.options ?? {});
}
