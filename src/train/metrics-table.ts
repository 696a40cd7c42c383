// The box table Lightning prints after validate/test: one row per metric.

export function metricsTable(title: string, metrics: Record<string, number>): string {
  const rows = Object.entries(metrics).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, String(v)]);
  const header = [title, 'DataLoader 0'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)) + 2);
  const cell = (s: string, w: number) => ` ${s.padEnd(w - 1)}`;
  const line = (l: string, m: string, r: string, fill: string) => l + widths.map((w) => fill.repeat(w)).join(m) + r;
  return [
    line('┏', '┳', '┓', '━'),
    '┃' + header.map((h, i) => cell(h, widths[i])).join('┃') + '┃',
    line('┡', '╇', '┩', '━'),
    ...rows.map((r) => '│' + r.map((c, i) => cell(c, widths[i])).join('│') + '│'),
    line('└', '┴', '┘', '─'),
  ].join('\n');
}
