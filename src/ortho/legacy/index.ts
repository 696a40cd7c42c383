// orthogonium.legacy: the orthogonal layers of the papers' own code bases,
// which Orthogonium keeps for comparisons (scripts/benchmark/bench_archs.py):
// Trockman & Kolter's Cayley layers, Singla & Feizi's SOC and Li et al.'s
// BCOP. They differ from this library's SOC (FastSOC, Adaptive-SOC) and BCOP
// (FastBlockConv2d, AdaptiveOrthoConv2d) constructions: see each file.
export { Cayley, CayleyLinear, cayleyTransform } from './cayley.js';
export type { CayleyOptions, CayleyLinearOptions } from './cayley.js';
export { SOC } from './soc.js';
export type { SOCOptions } from './soc.js';
export { BCOP, legacyPowerIteration } from './bcop.js';
export type { BCOPOptions } from './bcop.js';
export type { LegacyConv2dOptions } from './common.js';
