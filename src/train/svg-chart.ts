// A small line chart drawn as SVG by hand (axes, grid, ticks, legend), shared
// by the certified-accuracy figure and the training-curve plots, and its
// rasterization to PNG.
import { Resvg } from '@resvg/resvg-js';

export interface Series { name: string; points: { x: number; y: number }[]; color?: string; dashed?: boolean }

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Fixed y range (default: the data's, padded). */
  yRange?: [number, number];
  yFormat?: (v: number) => string;
  xFormat?: (v: number) => string;
  /** Vertical dashed marks (e.g. the radii reported). */
  xMarks?: number[];
  width?: number;
  height?: number;
  /** Offset of the whole chart, to place several in one SVG. */
  origin?: [number, number];
}

const PALETTE = ['#1f77b4', '#e67e22', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

const text = (x: number, y: number, s: string, anchor = 'middle', extra = '', size = 12): string =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${anchor}" font-family="sans-serif" font-size="${size}"${extra}>${escape(s)}</text>`;

/** The chart's SVG elements (without the <svg> wrapper), so charts can be combined. */
export function chartElements(o: ChartOptions): string[] {
  const width = o.width ?? 640;
  const height = o.height ?? 420;
  const [ox, oy] = o.origin ?? [0, 0];
  const m = { left: 64, right: 24, top: 40, bottom: 56 };
  const all = o.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (x1 === x0) x1 = x0 + 1;
  let [y0, y1] = o.yRange ?? (ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]);
  if (!o.yRange) {
    const pad = (y1 - y0) * 0.05 || Math.abs(y0) * 0.05 || 0.5;
    y0 -= pad;
    y1 += pad;
  }
  const X = (v: number) => ox + m.left + ((v - x0) / (x1 - x0)) * (width - m.left - m.right);
  const Y = (v: number) => oy + height - m.bottom - ((v - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const yFormat = o.yFormat ?? ((v: number) => v.toPrecision(3));
  const xFormat = o.xFormat ?? ((v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(3)));
  const ticks = (a: number, b: number) => Array.from({ length: 6 }, (_, i) => a + ((b - a) * i) / 5);
  const left = ox + m.left;
  const right = ox + width - m.right;
  const bottom = oy + height - m.bottom;
  const top = oy + m.top;
  const parts = [
    `<rect x="${ox}" y="${oy}" width="${width}" height="${height}" fill="white"/>`,
    text(ox + width / 2, oy + 22, o.title, 'middle', '', 15),
    ...ticks(y0, y1).map((t) => `<line x1="${left}" x2="${right}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#ddd"/>` + text(left - 8, Y(t) + 4, yFormat(t), 'end')),
    ...ticks(x0, x1).map((t) => `<line x1="${X(t).toFixed(1)}" x2="${X(t).toFixed(1)}" y1="${bottom}" y2="${bottom + 5}" stroke="#333"/>` + text(X(t), bottom + 20, xFormat(t))),
    ...(o.xMarks ?? []).filter((v) => v >= x0 && v <= x1).map((v) => `<line x1="${X(v).toFixed(1)}" x2="${X(v).toFixed(1)}" y1="${top}" y2="${bottom}" stroke="#e67e22" stroke-dasharray="4 3"/>`),
    `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#333"/>`,
    text(ox + width / 2, oy + height - 14, o.xLabel),
    text(ox + 16, oy + height / 2, o.yLabel, 'middle', ` transform="rotate(-90 ${ox + 16} ${oy + height / 2})"`),
  ];
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (pts.length === 0) return;
    const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (pts.length === 1) parts.push(`<circle cx="${X(pts[0].x).toFixed(1)}" cy="${Y(pts[0].y).toFixed(1)}" r="3" fill="${color}"/>`);
    if (o.series.length > 1) {
      const ly = top + 8 + i * 18;
      parts.push(`<line x1="${right - 110}" x2="${right - 90}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>` + text(right - 84, ly + 4, s.name, 'start'));
    }
  });
  return parts;
}

export function svgDocument(width: number, height: number, elements: string[]): string {
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`, ...elements, '</svg>'].join('\n');
}

export function lineChartSvg(o: ChartOptions): string {
  return svgDocument(o.width ?? 640, o.height ?? 420, chartElements(o));
}

export function svgToPng(svg: string): Buffer {
  return Buffer.from(new Resvg(svg, { background: 'white' }).render().asPng());
}
