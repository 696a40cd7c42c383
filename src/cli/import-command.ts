// `orthogonium import --state-dict FILE (--model-config FILE | --model PRESET) --out CHECKPOINT
//   [--mean a,b,c --std a,b,c] [--dataset NAME] [--non-strict] [--json]`
// Turns a state dict saved by the Python Orthogonium into this library's
// checkpoint (configuration + weights + metadata), which `certify` and the
// library's loadCheckpoint() read. The model is built from our configuration
// (the same architecture and arguments as in Python); the weights are mapped
// and checked by loadOrthogoniumStateDict.
import { buildModel, buildPreset, FactoryModel, MODEL_PRESETS, readModelConfigFile } from '../models/index.js';
import { loadOrthogoniumStateDict } from '../interop/index.js';
import { CheckpointMetadata, saveCheckpoint } from '../train/checkpoint.js';
import { FlagSpec, UsageError, parseFlags, withUsage } from './args.js';

interface ImportArgs {
  stateDict: string; modelConfig?: string; model?: string; out: string;
  mean?: number[]; std?: number[]; dataset?: string; strict: boolean; json: boolean;
}

const FLAGS: Record<string, FlagSpec> = {
  '--state-dict': { key: 'stateDict', kind: 'string' },
  '--model-config': { key: 'modelConfig', kind: 'string' },
  '--model': { key: 'model', kind: 'string', choices: Object.keys(MODEL_PRESETS) },
  '--out': { key: 'out', kind: 'string' },
  '--mean': { key: 'mean', kind: 'numbers' },
  '--std': { key: 'std', kind: 'numbers' },
  '--dataset': { key: 'dataset', kind: 'string' },
  '--non-strict': { key: 'nonStrict', kind: 'bool' },
  '--json': { key: 'json', kind: 'bool' },
};

function parse(args: string[]): ImportArgs {
  const { nonStrict, ...flags } = parseFlags(args, FLAGS);
  const out = { json: false, ...flags, strict: !nonStrict } as Partial<ImportArgs> & { strict: boolean; json: boolean };
  if (!out.stateDict) throw new UsageError('--state-dict is required');
  if (!out.out) throw new UsageError('--out is required');
  if ((out.modelConfig === undefined) === (out.model === undefined)) throw new UsageError('give exactly one of --model-config FILE and --model PRESET');
  if ((out.mean === undefined) !== (out.std === undefined)) throw new UsageError('--mean and --std go together');
  if (out.mean && out.std) {
    if (out.mean.length !== out.std.length) throw new UsageError(`--mean has ${out.mean.length} values but --std has ${out.std.length}`);
    if (out.std.some((s) => !(s > 0))) throw new UsageError('--std values must be positive');
  }
  return out as ImportArgs;
}

export function importCommand(args: string[], usage: string): Promise<number> {
  return withUsage('import', usage, () => runImport(parse(args)));
}

function runImport(a: ImportArgs): number {
  const model: FactoryModel = a.model !== undefined ? buildPreset(a.model) : buildModel(readModelConfigFile(a.modelConfig!));
  try {
    const result = loadOrthogoniumStateDict(model, a.stateDict, { strict: a.strict });
    const metadata: CheckpointMetadata = { importedFrom: a.stateDict, source: 'orthogonium (PyTorch)' };
    if (a.mean && a.std) Object.assign(metadata, { mean: a.mean, std: a.std });
    if (a.dataset) metadata.dataset = a.dataset;
    saveCheckpoint(a.out, model, metadata);
    const summary = {
      out: a.out, architecture: model.config.architecture, tensors: result.mapped.length,
      powerIterationVectors: result.mapped.filter((m) => m.transform === 'normalize-columns').length,
      aolWeightsNeutralized: result.mapped.filter((m) => m.transform === 'neutral-aol-weights').length,
      skipped: result.skipped,
      missingKeys: result.missingKeys, unexpectedKeys: result.unexpectedKeys, wrapper: result.wrapper, strippedPrefix: result.strippedPrefix,
    };
    if (a.json) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(`mapped ${summary.tensors} tensors (${summary.powerIterationVectors} power-iteration vectors) from ${a.stateDict} into ${summary.architecture}`);
      if (result.missingKeys.length) console.log(`left as initialized (not in the file): ${result.missingKeys.join(', ')}`);
      if (result.unexpectedKeys.length) console.log(`ignored (not in the model): ${result.unexpectedKeys.join(', ')}`);
      for (const { key, reason } of result.skipped) console.log(`skipped ${key}: ${reason}`);
      if (!a.mean) console.log('no --mean/--std given: certify needs the input normalization the model was trained with');
      console.log(`wrote ${a.out}`);
    }
    return 0;
  } finally {
    model.dispose();
  }
}
