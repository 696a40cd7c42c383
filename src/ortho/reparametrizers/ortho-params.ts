// OrthoParams: which spectral normalizer and which orthogonalizer an
// orthogonal layer uses, as factories of the weight shape — the named
// presets Orthogonium ships (selectable by name from configs and the CLI),
// and a JSON spec form that names the reparametrizers and their options, so
// custom settings can live in model configs and checkpoints.
import type { Parametrization } from '../../nn/index.js';
import { BatchedBjorckOrthogonalization } from './bjorck.js';
import { BatchedCholeskyOrthogonalization } from './cholesky.js';
import { BatchedExponentialOrthogonalization } from './exponential.js';
import { BatchedIdentity } from './identity.js';
import { BatchedPowerIteration } from './power-iteration.js';
import { BatchedQROrthogonalization } from './qr.js';

export type ReparametrizerFactory = (weightShape: number[]) => Parametrization;

export interface OrthoParams {
  /** Name of the preset (or of the spec), for display. */
  readonly name: string;
  readonly spectralNormalizer: ReparametrizerFactory;
  readonly orthogonalizer: ReparametrizerFactory;
  /** Presets serialize as their name and spec-built settings as their spec; hand-written ones cannot be serialized. */
  toJSON?(): unknown;
}

// ---------------------------------------------------------------------------
// Spec form.

/** The reparametrizers a spec may name (the classes of this folder, by class name). */
export type ReparametrizerType =
  | 'BatchedPowerIteration' | 'BatchedBjorckOrthogonalization' | 'BatchedExponentialOrthogonalization'
  | 'BatchedQROrthogonalization' | 'BatchedCholeskyOrthogonalization' | 'BatchedIdentity';

/** One reparametrizer: its class name and constructor options (the weight shape is supplied by the layer). */
export interface ReparametrizerSpec { type: ReparametrizerType; options?: Record<string, unknown> }

/**
 * Orthogonalization settings as plain JSON, e.g.
 * `{ spectralNormalizer: { type: 'BatchedPowerIteration', options: { iterations: 3, eps: 1e-6 } },
 *    orthogonalizer: { type: 'BatchedBjorckOrthogonalization', options: { iterations: 6 } } }`.
 * An omitted part takes the default of Orthogonium's `OrthoParams()` dataclass
 * (power iteration 3, eps 1e-6; Björck beta 0.5, 12 iterations); an omitted
 * option takes the class's own default, as a ClassParam would there.
 */
export interface OrthoParamsSpec {
  name?: string;
  spectralNormalizer?: ReparametrizerSpec | ReparametrizerType;
  orthogonalizer?: ReparametrizerSpec | ReparametrizerType;
}

/** What layers accept as `orthoParams`: a preset name, a JSON spec or factories. */
export type OrthoParamsLike = OrthoParams | OrthoParamsSpec | string;

type OptionKind = 'number' | 'int' | 'boolean';
interface TypeInfo {
  /** Option name → kind; the alias map gives Orthogonium's (camelCased) names. */
  options: Record<string, OptionKind>;
  aliases?: Record<string, string>;
  build(shape: number[], options: Record<string, unknown>): Parametrization;
}

const REPARAMETRIZER_TYPES: Record<ReparametrizerType, TypeInfo> = {
  BatchedPowerIteration: {
    options: { iterations: 'int', eps: 'number' },
    aliases: { powerItNiter: 'iterations' },
    build: (s, o) => new BatchedPowerIteration(s, o),
  },
  BatchedBjorckOrthogonalization: {
    options: { beta: 'number', iterations: 'int', passThrough: 'boolean', fused: 'boolean' },
    aliases: { niters: 'iterations' },
    build: (s, o) => new BatchedBjorckOrthogonalization(s, o),
  },
  BatchedExponentialOrthogonalization: {
    options: { iterations: 'int' },
    aliases: { niters: 'iterations' },
    build: (s, o) => new BatchedExponentialOrthogonalization(s, o),
  },
  BatchedQROrthogonalization: { options: {}, build: (s) => new BatchedQROrthogonalization(s) },
  BatchedCholeskyOrthogonalization: { options: { stable: 'boolean' }, build: (s, o) => new BatchedCholeskyOrthogonalization(s, o) },
  BatchedIdentity: { options: {}, build: (s) => new BatchedIdentity(s) },
};

/** The spec of Orthogonium's `OrthoParams()` defaults, used for omitted parts. */
const DEFAULT_PARTS: Required<Pick<OrthoParamsSpec, 'spectralNormalizer' | 'orthogonalizer'>> = {
  spectralNormalizer: { type: 'BatchedPowerIteration', options: { iterations: 3, eps: 1e-6 } },
  orthogonalizer: { type: 'BatchedBjorckOrthogonalization', options: { beta: 0.5, iterations: 12 } },
};

const SPEC_KEYS = ['name', 'spectralNormalizer', 'orthogonalizer'];

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v));

/** Checks one part of a spec and returns it in canonical form ({ type, options } with this library's option names). */
function canonicalPart(part: 'spectralNormalizer' | 'orthogonalizer', value: unknown): ReparametrizerSpec {
  const where = `orthoParams.${part}`;
  const spec = typeof value === 'string' ? { type: value } : value;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new TypeError(`${where}: expected { type, options } or a type name, got ${show(value)}`);
  }
  const { type, options = {}, ...extra } = spec as { type?: unknown; options?: unknown };
  const extraKeys = Object.keys(extra);
  if (extraKeys.length > 0) throw new TypeError(`${where}: unknown key${extraKeys.length > 1 ? 's' : ''} ${extraKeys.map(show).join(', ')} (a part is { type, options })`);
  const known = Object.keys(REPARAMETRIZER_TYPES);
  if (typeof type !== 'string' || !(type in REPARAMETRIZER_TYPES)) {
    throw new TypeError(`${where}: unknown reparametrizer type ${show(type)}; known types: ${known.join(', ')}`);
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where} (${type}): options must be an object, got ${show(options)}`);
  }
  const info = REPARAMETRIZER_TYPES[type as ReparametrizerType];
  const out: Record<string, unknown> = {};
  for (const [givenKey, v] of Object.entries(options)) {
    const key = info.aliases?.[givenKey] ?? givenKey;
    const kind = info.options[key];
    if (kind === undefined) {
      const allowed = [...Object.keys(info.options), ...Object.keys(info.aliases ?? {})];
      throw new TypeError(`${where} (${type}): unknown option ${show(givenKey)}; ${allowed.length ? `allowed: ${allowed.join(', ')}` : 'it takes no options'}`);
    }
    if (key in out) throw new TypeError(`${where} (${type}): option '${key}' given twice (as '${key}' and its alias)`);
    const ok = kind === 'boolean' ? typeof v === 'boolean'
      : kind === 'int' ? Number.isInteger(v) && (v as number) >= 0
        : typeof v === 'number' && Number.isFinite(v);
    if (!ok) {
      const wanted = kind === 'boolean' ? 'a boolean' : kind === 'int' ? 'a non-negative integer' : 'a finite number';
      throw new TypeError(`${where} (${type}): option '${givenKey}' must be ${wanted}, got ${show(v)}`);
    }
    out[key] = v;
  }
  return Object.keys(out).length > 0 ? { type: type as ReparametrizerType, options: out } : { type: type as ReparametrizerType };
}

/** Validates a spec and returns its canonical form (both parts explicit, this library's option names). */
export function canonicalOrthoParamsSpec(spec: OrthoParamsSpec): Required<Pick<OrthoParamsSpec, 'spectralNormalizer' | 'orthogonalizer'>> & { name?: string } {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new TypeError(`orthoParams: expected a preset name, a spec object or an OrthoParams, got ${show(spec)}`);
  const unknown = Object.keys(spec).filter((k) => !SPEC_KEYS.includes(k));
  if (unknown.length > 0) {
    throw new TypeError(`orthoParams spec: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map(show).join(', ')}; a spec has ${SPEC_KEYS.join(', ')}`);
  }
  if (spec.spectralNormalizer === undefined && spec.orthogonalizer === undefined) {
    // Most likely a hand-written OrthoParams passed through JSON, which keeps the name and drops the factories.
    throw new TypeError(`orthoParams spec ${show(spec)} names neither a spectralNormalizer nor an orthogonalizer ` +
      '(an OrthoParams with factory functions does not survive JSON: give a preset name or a spec of the reparametrizers)');
  }
  if (spec.name !== undefined && typeof spec.name !== 'string') throw new TypeError(`orthoParams spec: name must be a string, got ${show(spec.name)}`);
  return {
    ...(spec.name !== undefined ? { name: spec.name } : {}),
    spectralNormalizer: canonicalPart('spectralNormalizer', spec.spectralNormalizer ?? DEFAULT_PARTS.spectralNormalizer),
    orthogonalizer: canonicalPart('orthogonalizer', spec.orthogonalizer ?? DEFAULT_PARTS.orthogonalizer),
  };
}

const factoryOf = (part: ReparametrizerSpec): ReparametrizerFactory => {
  const info = REPARAMETRIZER_TYPES[part.type];
  const options = part.options ?? {};
  return (shape) => info.build(shape, { ...options });
};

/** Builds OrthoParams from a spec; the result serializes back to the (canonical) spec. */
export function orthoParamsFromSpec(spec: OrthoParamsSpec): OrthoParams {
  const canonical = canonicalOrthoParamsSpec(spec);
  return {
    name: canonical.name ?? 'custom',
    spectralNormalizer: factoryOf(canonical.spectralNormalizer as ReparametrizerSpec),
    orthogonalizer: factoryOf(canonical.orthogonalizer as ReparametrizerSpec),
    toJSON: () => JSON.parse(JSON.stringify(canonical)) as unknown,
  };
}

// ---------------------------------------------------------------------------
// Presets.

const powerIteration = (iterations: number, eps: number): ReparametrizerFactory =>
  (shape) => new BatchedPowerIteration(shape, { iterations, eps });

/** A preset serializes as its name, so configs holding one rebuild it. */
const preset = (name: string, spectralNormalizer: ReparametrizerFactory, orthogonalizer: ReparametrizerFactory): OrthoParams =>
  ({ name, spectralNormalizer, orthogonalizer, toJSON: () => name });

export const ORTHO_PARAMS_PRESETS = {
  /** Power iteration (3) then 12 Björck iterations: the library default. */
  default: preset('default', powerIteration(3, 1e-6), (s) => new BatchedBjorckOrthogonalization(s, { beta: 0.5, iterations: 12 })),
  /** Björck differentiating only its last iteration: far less memory, slightly biased gradients. */
  'bjorck-pass-through': preset('bjorck-pass-through', powerIteration(3, 1e-4), (s) => new BatchedBjorckOrthogonalization(s, { beta: 0.5, iterations: 12, passThrough: true })),
  /** More iterations, for tests that check orthogonality to 1e-4. */
  test: preset('test', powerIteration(4, 1e-4), (s) => new BatchedBjorckOrthogonalization(s, { beta: 0.5, iterations: 25 })),
  /** Exponential of the skew-symmetric part (12 Taylor terms). */
  exp: preset('exp', powerIteration(3, 1e-6), (s) => new BatchedExponentialOrthogonalization(s, { iterations: 12 })),
  /** QR decomposition. */
  qr: preset('qr', powerIteration(3, 1e-3), (s) => new BatchedQROrthogonalization(s)),
  /** Cholesky: cheap, approximately orthogonal (to ~1e-5). */
  cholesky: preset('cholesky', (s) => new BatchedIdentity(s), (s) => new BatchedCholeskyOrthogonalization(s)),
  /** Cholesky with the backward taken through the input (more stable in float32). */
  'cholesky-stable': preset('cholesky-stable', (s) => new BatchedIdentity(s), (s) => new BatchedCholeskyOrthogonalization(s, { stable: true })),
} satisfies Record<string, OrthoParams>;

export type OrthoParamsName = keyof typeof ORTHO_PARAMS_PRESETS;

// Orthogonium's exported constants, under its names.
export const DEFAULT_ORTHO_PARAMS: OrthoParams = ORTHO_PARAMS_PRESETS.default;
export const DEFAULT_TEST_ORTHO_PARAMS: OrthoParams = ORTHO_PARAMS_PRESETS.test;
export const BJORCK_PASS_THROUGH_ORTHO_PARAMS: OrthoParams = ORTHO_PARAMS_PRESETS['bjorck-pass-through'];
export const EXP_ORTHO_PARAMS: OrthoParams = ORTHO_PARAMS_PRESETS.exp;
export const QR_ORTHO_PARAMS: OrthoParams = ORTHO_PARAMS_PRESETS.qr;
export const CHOLESKY_ORTHO_PARAMS: OrthoParams = ORTHO_PARAMS_PRESETS.cholesky;
export const CHOLESKY_STABLE_ORTHO_PARAMS: OrthoParams = ORTHO_PARAMS_PRESETS['cholesky-stable'];

const isOrthoParams = (v: object): v is OrthoParams =>
  typeof (v as OrthoParams).spectralNormalizer === 'function' || typeof (v as OrthoParams).orthogonalizer === 'function';

/**
 * A preset by name ('default', 'test', 'qr' …), a JSON spec (see
 * OrthoParamsSpec) or an OrthoParams given directly.
 */
export function resolveOrthoParams(value: OrthoParamsLike | undefined): OrthoParams {
  if (value === undefined) return DEFAULT_ORTHO_PARAMS;
  if (typeof value === 'string') {
    const found = (ORTHO_PARAMS_PRESETS as Record<string, OrthoParams>)[value];
    if (!found) throw new TypeError(`unknown orthoParams preset '${value}'; expected one of ${Object.keys(ORTHO_PARAMS_PRESETS).join(', ')}`);
    return found;
  }
  if (value !== null && typeof value === 'object' && isOrthoParams(value)) {
    if (typeof value.spectralNormalizer !== 'function' || typeof value.orthogonalizer !== 'function') {
      throw new TypeError('orthoParams: an OrthoParams needs both spectralNormalizer and orthogonalizer as factories of the weight shape');
    }
    return value;
  }
  return orthoParamsFromSpec(value as OrthoParamsSpec);
}
