// `orthogonium summary --model <preset> [--input-size C,H,W] [--depth N] [--json]`
import { MODEL_PRESETS, buildPreset, summary } from '../models/index.js';
import { FlagSpec, UsageError, parseFlags, withUsage } from './args.js';

interface SummaryArgs { model: string; inputSize?: number[]; depth?: number; json: boolean }

const FLAGS: Record<string, FlagSpec> = {
  '--model': { key: 'model', kind: 'string' },
  '--input-size': { key: 'inputSize', kind: 'shape' },
  '--depth': { key: 'depth', kind: 'non-negative-int' },
  '--json': { key: 'json', kind: 'bool' },
};

function parse(args: string[]): SummaryArgs {
  const out = { json: false, ...parseFlags(args, FLAGS) } as Partial<SummaryArgs>;
  if (out.inputSize && out.inputSize.length !== 3) throw new UsageError(`--input-size must be C,H,W, got ${out.inputSize.length} numbers`);
  if (!out.model) throw new UsageError(`--model is required (one of ${Object.keys(MODEL_PRESETS).join(', ')})`);
  if (!(out.model in MODEL_PRESETS)) throw new UsageError(`unknown model preset '${out.model}'; known presets: ${Object.keys(MODEL_PRESETS).join(', ')}`);
  return out as SummaryArgs;
}

export function summaryCommand(args: string[], usage: string): Promise<number> {
  return withUsage('summary', usage, () => {
    const options = parse(args);
    const model = buildPreset(options.model);
    const inputShape = options.inputSize ?? (model.config.options.imgShape as number[]);
    const result = summary(model, inputShape, { depth: options.depth });
    console.log(options.json ? JSON.stringify({ model: options.model, inputShape, totals: result.totals }, null, 2) : result.text);
    model.dispose();
    return 0;
  });
}
