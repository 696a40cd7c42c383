// The standard figure of certified robustness: certified accuracy as a
// function of the L2 radius, drawn as SVG by hand and rasterized to PNG.
import { Resvg } from '@resvg/resvg-js';

/** Fraction of samples whose certified radius exceeds r (misclassified samples have radius ≤ 0). */
export function certifiedAccuracyCurve(radii: number[], points = 200, maxRadius?: number): { radius: number; accuracy: number }[] {
  const sorted = radii.filter((r) => r > 0).sort((a, b) => a - b);
  const top = maxRadius ?? Math.max(1e-6, sorted.length ? sorted[Math.floor(0.99 * (sorted.length - 1))] : 1);
  const curve: { radius: number; accuracy: number }[] = [];
  let j = 0;
  for (let i = 0; i <= points; i++) {
    const r = (top * i) / points;
    while (j < sorted.length && sorted[j] <= r) j++;
    curve.push({ radius: r, accuracy: (sorted.length - j) / radii.length });
  }
  return curve;
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function certifiedAccuracySvg(radii: number[], options: { title?: string; marks?: number[] } = {}): string {
  const curve = certifiedAccuracyCurve(radii);
  const width = 640;
  const height = 420;
  const margin = { left: 64, right: 24, top: 40, bottom: 56 };
  const maxR = curve[curve.length - 1].radius;
  const x = (r: number) => margin.left + (r / maxR) * (width - margin.left - margin.right);
  const y = (a: number) => height - margin.bottom - a * (height - margin.top - margin.bottom);
  const path = curve.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.radius).toFixed(1)},${y(p.accuracy).toFixed(1)}`).join(' ');
  const xTicks = Array.from({ length: 6 }, (_, i) => (maxR * i) / 5);
  const yTicks = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const text = (tx: number, ty: number, s: string, anchor = 'middle', extra = '', size = 12) =>
    `<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}" text-anchor="${anchor}" font-family="sans-serif" font-size="${size}"${extra}>${escape(s)}</text>`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    text(width / 2, 22, options.title ?? 'Certified accuracy vs L2 radius', 'middle', '', 15),
    ...yTicks.map((t) => `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>` + text(margin.left - 8, y(t) + 4, `${Math.round(t * 100)}%`, 'end')),
    ...xTicks.map((t) => `<line x1="${x(t)}" x2="${x(t)}" y1="${height - margin.bottom}" y2="${height - margin.bottom + 5}" stroke="#333"/>` + text(x(t), height - margin.bottom + 20, t.toFixed(3))),
    ...(options.marks ?? []).filter((m) => m <= maxR).map((m) => `<line x1="${x(m)}" x2="${x(m)}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#e67e22" stroke-dasharray="4 3"/>`),
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${height - margin.bottom}" y2="${height - margin.bottom}" stroke="#333"/>`,
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#333"/>`,
    `<path d="${path}" fill="none" stroke="#1f77b4" stroke-width="2"/>`,
    text(width / 2, height - 14, 'L2 radius ε (input pixels in [0, 1])'),
    text(16, height / 2, 'certified accuracy', 'middle', ` transform="rotate(-90 16 ${height / 2})"`),
    '</svg>',
  ];
  return parts.join('\n');
}

export function svgToPng(svg: string): Buffer {
  return Buffer.from(new Resvg(svg, { background: 'white' }).render().asPng());
}
