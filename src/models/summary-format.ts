// Text rendering of summary(): torchinfo's default layout — a layer-name
// column at least 40 characters wide (rounded up to a multiple of 5), value
// columns 25 wide, "=" dividers, tree prefixes ├─ / │    └─, and the totals.
import type { SummaryLayer, SummaryTotals } from './summary.js';

export type SummaryColumn = 'inputShape' | 'outputShape' | 'params' | 'kernelParams' | 'kernelShape' | 'multAdds';

export const SUMMARY_COLUMNS: readonly SummaryColumn[] = ['inputShape', 'outputShape', 'params', 'kernelParams', 'kernelShape', 'multAdds'];

const TITLES: Record<SummaryColumn, string> = {
  inputShape: 'Input Shape',
  outputShape: 'Output Shape',
  params: 'Param #',
  kernelParams: 'Kernel #',
  kernelShape: 'Kernel Shape',
  multAdds: 'Mult-Adds',
};

const COLUMN_WIDTH = 25;
const MIN_NAME_WIDTH = 40;
const ALIGN = 5;

/** 1234567 → "1,234,567". */
export const formatCount = (n: number): string => Math.round(n).toLocaleString('en-US');

const formatShape = (shape: number[] | null): string => (shape ? `[${shape.join(', ')}]` : '--');

function treePrefix(depth: number): string {
  if (depth === 0) return '';
  if (depth === 1) return '├─';
  return `${'│    '.repeat(depth - 1)}└─`;
}

const layerTitle = (l: SummaryLayer): string => (l.depth > 0 ? `${l.type}: ${l.depth}-${l.depthIndex}` : l.type);

/** torchinfo's rule: the whole count on leaves and at the depth limit, else what the children rows do not show. */
function countCell(l: SummaryLayer, reachedMax: boolean, total: number, own: number, parenthesize: boolean): string {
  if (total === 0) return '--';
  if (l.recursive) return '(recursive)';
  if (reachedMax || l.leaf) return parenthesize ? `(${formatCount(total)})` : formatCount(total);
  return own > 0 ? formatCount(own) : '--';
}

function cell(column: SummaryColumn, l: SummaryLayer, reachedMax: boolean): string {
  switch (column) {
    case 'inputShape': return formatShape(l.inputShape);
    case 'outputShape': return l.outputShapes.length > 1 ? l.outputShapes.map(formatShape).join(', ') : formatShape(l.outputShape);
    case 'params': return countCell(l, reachedMax, l.params, l.ownParams, l.trainableParams === 0);
    case 'kernelParams': return countCell(l, reachedMax, l.kernelParams, l.ownKernelParams, false);
    case 'kernelShape': return formatShape(l.kernelShape);
    case 'multAdds': return l.multAdds > 0 ? formatCount(l.multAdds) : '--';
  }
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(2);

function multAddsLine(n: number): string {
  return n >= 1e9 ? `Total mult-adds (G): ${(n / 1e9).toFixed(2)}` : `Total mult-adds (M): ${(n / 1e6).toFixed(2)}`;
}

export function renderSummary(layers: SummaryLayer[], totals: SummaryTotals, options: { depth: number; columns: SummaryColumn[] }): string {
  const { depth, columns } = options;
  const shown = layers.filter((l) => l.depth <= depth);
  const longest = Math.max(0, ...shown.map((l) => layerTitle(l).length + l.depth * ALIGN + 1));
  const nameWidth = longest >= MIN_NAME_WIDTH ? Math.ceil(longest / ALIGN) * ALIGN : MIN_NAME_WIDTH;
  const width = nameWidth + columns.length * COLUMN_WIDTH;
  const divider = '='.repeat(width);
  const row = (name: string, values: string[]): string =>
    `${name.padEnd(nameWidth)} ${values.map((v) => `${v.padEnd(COLUMN_WIDTH)} `).join('')}`.trimEnd();

  const lines = [divider, row('Layer (type:depth-idx)', columns.map((c) => TITLES[c])), divider];
  for (const l of shown) {
    const reachedMax = l.depth === depth;
    lines.push(row(`${treePrefix(l.depth)}${layerTitle(l)}`, columns.map((c) => cell(c, l, reachedMax))));
  }
  lines.push(
    divider,
    `Total params (raw): ${formatCount(totals.totalParams)}`,
    `Trainable params: ${formatCount(totals.trainableParams)}`,
    `Non-trainable params: ${formatCount(totals.nonTrainableParams)}`,
    `Total params (explicit kernels): ${formatCount(totals.explicitParams)}`,
    `Buffers (state, not parameters): ${formatCount(totals.bufferElements)}`,
    multAddsLine(totals.multAdds),
    divider,
    `Input size (MB): ${mb(totals.inputBytes)}`,
    `Forward/backward pass size (MB): ${mb(totals.forwardBackwardBytes)}`,
    `Params size (MB): ${mb(totals.paramsBytes)}`,
    `Estimated Total Size (MB): ${mb(totals.totalBytes)}`,
    divider,
  );
  return lines.join('\n');
}
