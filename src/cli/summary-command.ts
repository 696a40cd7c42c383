// `orthogonium summary --model <preset> [--input-size C,H,W] [--depth N] [--json]`
import { MODEL_PRESETS, buildPreset, summary } from '../models/index.js';

class UsageError extends Error {}

function parse(args: string[]): { model: string; inputSize?: number[]; depth?: number; json: boolean } {
  const out: { model?: string; inputSize?: number[]; depth?: number; json: boolean } = { json: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--json') out.json = true;
    else if (arg === '--model') out.model = value();
    else if (arg === '--input-size') {
      const text = value();
      const dims = text.split(',').map(Number);
      if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d <= 0)) throw new UsageError(`--input-size must be C,H,W with positive integers, got '${text}'`);
      out.inputSize = dims;
    } else if (arg === '--depth') {
      const depth = Number(value());
      if (!Number.isInteger(depth) || depth < 0) throw new UsageError(`--depth must be a non-negative integer`);
      out.depth = depth;
    } else throw new UsageError(`unknown option ${arg}`);
  }
  if (!out.model) throw new UsageError(`--model is required (one of ${Object.keys(MODEL_PRESETS).join(', ')})`);
  if (!(out.model in MODEL_PRESETS)) throw new UsageError(`unknown model preset '${out.model}'; known presets: ${Object.keys(MODEL_PRESETS).join(', ')}`);
  return out as { model: string; inputSize?: number[]; depth?: number; json: boolean };
}

export function summaryCommand(args: string[], usage: string): number {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`orthogonium summary: ${error.message}\n\n${usage}`);
    return 2;
  }
  const model = buildPreset(options.model);
  const inputShape = options.inputSize ?? (model.config.options.imgShape as number[]);
  const result = summary(model, inputShape, { depth: options.depth });
  console.log(options.json ? JSON.stringify({ model: options.model, inputShape, totals: result.totals }, null, 2) : result.text);
  model.dispose();
  return 0;
}
