// The standard figure of certified robustness: certified accuracy as a
// function of the L2 radius.
import { lineChartSvg } from './svg-chart.js';

export { svgToPng } from './svg-chart.js';

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

export function certifiedAccuracySvg(radii: number[], options: { title?: string; marks?: number[] } = {}): string {
  return lineChartSvg({
    title: options.title ?? 'Certified accuracy vs L2 radius',
    xLabel: 'L2 radius ε (input pixels in [0, 1])',
    yLabel: 'certified accuracy',
    series: [{ name: 'certified accuracy', points: certifiedAccuracyCurve(radii).map((p) => ({ x: p.radius, y: p.accuracy })) }],
    yRange: [0, 1],
    yFormat: (v) => `${Math.round(v * 100)}%`,
    xFormat: (v) => v.toFixed(3),
    xMarks: options.marks,
  });
}
