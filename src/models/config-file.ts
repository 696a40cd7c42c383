// A model configuration file: {"architecture": "<name>", "options": {…}}, as
// `orthogonium train --model-config` and `orthogonium import` read it.
import { readJsonFile } from '../util/json-file.js';
import type { ModelConfig } from './factory-model.js';

export function readModelConfigFile(path: string): ModelConfig {
  const c = readJsonFile(path, 'model configuration') as Partial<ModelConfig> | null;
  if (c === null || typeof c !== 'object' || typeof c.architecture !== 'string' || (c.options !== undefined && (typeof c.options !== 'object' || c.options === null))) {
    throw new Error(`${path}: a model configuration is {"architecture": "<name>", "options": {…}}`);
  }
  return { architecture: c.architecture, options: c.options ?? {} };
}
