// `orthogonium export --checkpoint FILE --format onnx|safetensors|pt --out PATH
//   [--input-shape C,H,W] [--normalize-input] [--json]`
// Writes a trained checkpoint as an ONNX model (with certification metadata)
// or as plain weights (safetensors or a PyTorch .pt state dict) beside an
// architecture JSON. Every file is written atomically.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadCheckpoint } from '../train/checkpoint.js';
import { saveOnnx } from '../export/onnx-export.js';
import { savePlainModel } from '../export/plain-export.js';
import { classNamesFor } from '../export/class-names.js';
import { FlagSpec, UsageError, parseFlags, withUsage } from './args.js';

const FORMATS = ['onnx', 'safetensors', 'pt'] as const;
type Format = (typeof FORMATS)[number];

interface ExportArgs { checkpoint: string; format: Format; out: string; inputShape?: number[]; normalizeInput: boolean; json: boolean }

const FLAGS: Record<string, FlagSpec> = {
  '--checkpoint': { key: 'checkpoint', kind: 'string' },
  '--out': { key: 'out', kind: 'string' },
  '--format': { key: 'format', kind: 'string', choices: FORMATS },
  '--input-shape': { key: 'inputShape', kind: 'shape' },
  '--normalize-input': { key: 'normalizeInput', kind: 'bool' },
  '--json': { key: 'json', kind: 'bool' },
};

function parse(args: string[]): ExportArgs {
  const out = { normalizeInput: false, json: false, ...parseFlags(args, FLAGS) } as Partial<ExportArgs> & { normalizeInput: boolean };
  if (!out.checkpoint) throw new UsageError('--checkpoint is required');
  if (!out.format) throw new UsageError(`--format is required (one of ${FORMATS.join(', ')})`);
  if (!out.out) throw new UsageError('--out is required');
  if (out.normalizeInput && out.format !== 'onnx') throw new UsageError('--normalize-input applies to --format onnx only');
  return out as ExportArgs;
}

/** The input shape from the option, else from the model's configuration (imgShape). */
function inputShapeOf(a: ExportArgs, options: Record<string, unknown>): number[] {
  if (a.inputShape) return a.inputShape;
  const shape = options.imgShape;
  if (Array.isArray(shape) && shape.length > 0 && shape.every((d) => Number.isInteger(d) && d > 0)) return shape as number[];
  throw new Error(`${a.checkpoint}: the model configuration gives no imgShape; pass --input-shape C,H,W`);
}

export function exportCommand(args: string[], usage: string): Promise<number> {
  return withUsage('export', usage, () => runExport(parse(args)));
}

function runExport(a: ExportArgs): number {
  const { model, config, metadata } = loadCheckpoint(a.checkpoint);
  try {
    const { mean, std } = metadata;
    const normalization = Array.isArray(mean) && Array.isArray(std) ? { mean, std } : {};
    const inputShape = inputShapeOf(a, config.options ?? {});
    const classNames = classNamesFor(metadata);
    const out = resolve(a.out);
    mkdirSync(dirname(out), { recursive: true });
    const extra = { checkpoint: a.checkpoint, ...(typeof metadata.dataset === 'string' ? { dataset: metadata.dataset } : {}) };
    const files: Record<string, string> = {};
    if (a.format === 'onnx') {
      saveOnnx(model, out, { inputShape, ...normalization, classNames, normalizeInput: a.normalizeInput, metadata: extra });
      files.onnx = out;
    } else {
      const written = savePlainModel(model, out, { format: a.format, inputShape, ...normalization, classNames, metadata: extra });
      files.weights = written.weights;
      files.architecture = written.architecture;
    }
    if (a.json) console.log(JSON.stringify({ checkpoint: a.checkpoint, format: a.format, inputShape, files }, null, 2));
    else for (const [kind, path] of Object.entries(files)) console.log(`wrote ${kind}: ${path}`);
    return 0;
  } finally {
    model.dispose();
  }
}
