// orthogonium-ts: 1-Lipschitz neural networks on a libtorch engine.
export * as torch from './torch/index.js';
export { Tensor } from './torch/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as ortho from './ortho/index.js';
export * as models from './models/index.js';
export * as losses from './losses/index.js';
export * as data from './data/index.js';
export * as train from './train/index.js';
export * as interop from './interop/index.js';
export * as exporters from './export/index.js';
export * as distributed from './distributed/index.js';
