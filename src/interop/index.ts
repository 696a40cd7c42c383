// Interoperability with checkpoints of other libraries.
export { loadOrthogoniumStateDict, OrthogoniumStateDictError } from './orthogonium.js';
export type { OrthogoniumLoadOptions, OrthogoniumLoadResult, MappedTensor } from './orthogonium.js';
export { orthogoniumKeyToOurs } from './orthogonium-keys.js';
export type { KeyTransform, MappedKey } from './orthogonium-keys.js';
export { readStateDictFile, NotAStateDictError } from './read-state-dict.js';
export type { ReadStateDict } from './read-state-dict.js';
