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

class UsageError extends Error {}

const FORMATS = ['onnx', 'safetensors', 'pt'] as const;
type Format = (typeof FORMATS)[number];

interface ExportArgs { checkpoint: string; format: Format; out: string; inputShape?: number[]; normalizeInput: boolean; json: boolean }

function parse(args: string[]): ExportArgs {
  const out: Partial<ExportArgs> & { normalizeInput: boolean; json: boolean } = { normalizeInput: false, json: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--checkpoint') out.checkpoint = value();
    else if (arg === '--out') out.out = value();
    else if (arg === '--format') {
      const f = value();
      if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`unknown format '${f}'; expected one of ${FORMATS.join(', ')}`);
      out.format = f as Format;
    } else if (arg === '--input-shape') {
      const dims = value().split(',').map(Number);
      if (dims.length === 0 || !dims.every((d) => Number.isInteger(d) && d > 0)) throw new UsageError('--input-shape must be positive integers like 3,32,32');
      out.inputShape = dims;
    } else if (arg === '--normalize-input') out.normalizeInput = true;
    else if (arg === '--json') out.json = true;
    else throw new UsageError(`unknown option ${arg}`);
  }
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

export function exportCommand(args: string[], usage: string): number {
  let a: ExportArgs;
  try {
    a = parse(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`orthogonium export: ${error.message}\n\n${usage}`);
    return 2;
  }
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
