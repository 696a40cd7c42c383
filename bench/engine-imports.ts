// What the engine benchmark needs from the library, including the raw addon.
export { F, Tensor, autocast, ones, randn, scope } from '../src/torch/index.js';
export { native } from '../src/torch/native.js';
