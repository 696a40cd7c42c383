// The table Lightning prints when fit starts (enable_model_summary): each
// top-level child of the LightningModule with its type, parameter count and
// mode, then the trainable, non-trainable and total parameter counts and the
// parameters' size. Buffers (power-iteration vectors, running means) are not
// parameters here, as in Lightning.
import { Module } from '../nn/index.js';
import { elementSize } from '../models/summary.js';

/** 1,783,308 → "1.8 M", 130,838 → "130 K", 12 → "12": Lightning's short counts. */
export function shortCount(n: number): string {
  const units = ['', 'K', 'M', 'B', 'T'];
  const digits = n > 0 ? Math.floor(Math.log10(n)) + 1 : 1;
  const group = Math.min(Math.ceil(digits / 3), units.length) - 1;
  const scaled = n / 10 ** (3 * group);
  const text = group < 1 || scaled >= 100 ? Math.floor(scaled).toLocaleString('en-US') : scaled.toFixed(1);
  return units[group] ? `${text} ${units[group]}` : text;
}

export function fitSummary(module: Module): string {
  const rows = [...module.namedChildren()].map(([name, child], i) =>
    [String(i), name, child.constructor.name, shortCount(child.numParameters()), child.training ? 'train' : 'eval']);
  const header = ['', 'Name', 'Type', 'Params', 'Mode'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c])).join(' | ').trimEnd();
  const rule = '-'.repeat(line(header).length);
  const trainable = module.numParameters({ trainableOnly: true });
  const total = module.numParameters();
  const megabytes = module.parameters().reduce((n, p) => n + p.numel() * elementSize(p.dtype), 0) / 1e6;
  return [
    line(header), rule, ...rows.map(line), rule,
    `${shortCount(trainable).padEnd(10)} Trainable params`,
    `${shortCount(total - trainable).padEnd(10)} Non-trainable params`,
    `${shortCount(total).padEnd(10)} Total params`,
    `${megabytes.toFixed(3).padEnd(10)} Total estimated model params size (MB)`,
  ].join('\n');
}
