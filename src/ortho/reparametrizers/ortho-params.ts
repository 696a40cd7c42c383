// OrthoParams: which spectral normalizer and which orthogonalizer an
// orthogonal layer uses, as factories of the weight shape — and the named
// presets Orthogonium ships, selectable by name from configs and the CLI.
import type { Parametrization } from '../../nn/index.js';
import { BatchedBjorckOrthogonalization } from './bjorck.js';
import { BatchedCholeskyOrthogonalization } from './cholesky.js';
import { BatchedExponentialOrthogonalization } from './exponential.js';
import { BatchedIdentity } from './identity.js';
import { BatchedPowerIteration } from './power-iteration.js';
import { BatchedQROrthogonalization } from './qr.js';

export type ReparametrizerFactory = (weightShape: number[]) => Parametrization;

export interface OrthoParams {
  /** Name of the preset, kept in configs and checkpoints. */
  readonly name: string;
  readonly spectralNormalizer: ReparametrizerFactory;
  readonly orthogonalizer: ReparametrizerFactory;
}

const powerIteration = (iterations: number, eps: number): ReparametrizerFactory =>
  (shape) => new BatchedPowerIteration(shape, { iterations, eps });

export const ORTHO_PARAMS_PRESETS = {
  /** Power iteration (3) then 12 Björck iterations: the library default. */
  default: { name: 'default', spectralNormalizer: powerIteration(3, 1e-6), orthogonalizer: (s) => new BatchedBjorckOrthogonalization(s, { beta: 0.5, iterations: 12 }) },
  /** Björck differentiating only its last iteration: far less memory, slightly biased gradients. */
  'bjorck-pass-through': { name: 'bjorck-pass-through', spectralNormalizer: powerIteration(3, 1e-4), orthogonalizer: (s) => new BatchedBjorckOrthogonalization(s, { beta: 0.5, iterations: 12, passThrough: true }) },
  /** More iterations, for tests that check orthogonality to 1e-4. */
  test: { name: 'test', spectralNormalizer: powerIteration(4, 1e-4), orthogonalizer: (s) => new BatchedBjorckOrthogonalization(s, { beta: 0.5, iterations: 25 }) },
  /** Exponential of the skew-symmetric part (12 Taylor terms). */
  exp: { name: 'exp', spectralNormalizer: powerIteration(3, 1e-6), orthogonalizer: (s) => new BatchedExponentialOrthogonalization(s, { iterations: 12 }) },
  /** QR decomposition. */
  qr: { name: 'qr', spectralNormalizer: powerIteration(3, 1e-3), orthogonalizer: (s) => new BatchedQROrthogonalization(s) },
  /** Cholesky: cheap, approximately orthogonal (to ~1e-5). */
  cholesky: { name: 'cholesky', spectralNormalizer: (s) => new BatchedIdentity(s), orthogonalizer: (s) => new BatchedCholeskyOrthogonalization(s) },
  /** Cholesky with the backward taken through the input (more stable in float32). */
  'cholesky-stable': { name: 'cholesky-stable', spectralNormalizer: (s) => new BatchedIdentity(s), orthogonalizer: (s) => new BatchedCholeskyOrthogonalization(s, { stable: true }) },
} satisfies Record<string, OrthoParams>;

export type OrthoParamsName = keyof typeof ORTHO_PARAMS_PRESETS;

export const DEFAULT_ORTHO_PARAMS: OrthoParams = ORTHO_PARAMS_PRESETS.default;
export const DEFAULT_TEST_ORTHO_PARAMS: OrthoParams = ORTHO_PARAMS_PRESETS.test;

/** A preset by name ('default', 'test', 'qr' …) or an OrthoParams given directly. */
export function resolveOrthoParams(value: OrthoParams | string | undefined): OrthoParams {
  if (value === undefined) return DEFAULT_ORTHO_PARAMS;
  if (typeof value !== 'string') return value;
  const preset = (ORTHO_PARAMS_PRESETS as Record<string, OrthoParams>)[value];
  if (!preset) throw new TypeError(`unknown orthoParams preset '${value}'; expected one of ${Object.keys(ORTHO_PARAMS_PRESETS).join(', ')}`);
  return preset;
}
