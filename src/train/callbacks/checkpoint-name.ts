// ModelCheckpoint's file names, as Lightning's format_checkpoint_name: a
// template such as 'model-{epoch:02d}-{val_loss:.2f}' where each {name} or
// {name:spec} takes a value (Python's format spec for numbers), written
// `name=value` when autoInsertMetricName (a '/' in the inserted name becomes '_').

const SPEC = /^(?:(.)?([<>=^]))?([+\- ])?(0)?(\d+)?(,)?(?:\.(\d+))?([dfFeEgG%n]?)$/;

/** A number formatted with a Python format spec (fill, align, sign, 0, width, precision, type d/f/e/g/%). */
export function formatNumber(value: number, spec: string, where: string): string {
  const m = SPEC.exec(spec);
  if (!m) throw new Error(`${where}: unsupported format spec ':${spec}' (use e.g. 02d, .2f, .3e)`);
  const [, fillChar, align, sign = '-', zero, widthText, comma, precisionText, type] = m;
  const precision = precisionText === undefined ? undefined : Number(precisionText);
  const abs = Math.abs(value);
  let body: string;
  if (!Number.isFinite(value)) body = Number.isNaN(value) ? 'nan' : 'inf';
  else if (type === 'd' || type === 'n') {
    if (!Number.isInteger(value)) throw new Error(`${where}: format spec ':${spec}' needs an integer, got ${value}`);
    body = String(abs);
  } else if (type === 'f' || type === 'F') body = abs.toFixed(precision ?? 6);
  else if (type === 'e' || type === 'E') body = pythonExp(abs.toExponential(precision ?? 6));
  else if (type === '%') body = (abs * 100).toFixed(precision ?? 6) + '%';
  else if (type === 'g' || type === 'G' || precision !== undefined) body = pythonGeneral(abs, precision ?? 6);
  else body = String(abs);
  if (type === 'E' || type === 'G' || type === 'F') body = body.toUpperCase();
  if (comma) body = body.replace(/^(\d+)/, (d) => d.replace(/\B(?=(\d{3})+(?!\d))/g, ','));
  const signText = value < 0 || Object.is(value, -0) ? '-' : sign === '+' ? '+' : sign === ' ' ? ' ' : '';
  const width = widthText === undefined ? 0 : Number(widthText);
  const pad = Math.max(0, width - signText.length - body.length);
  const alignment = align ?? (zero ? '=' : '>');
  const fill = fillChar ?? (zero && !align ? '0' : ' ');
  if (alignment === '=') return signText + fill.repeat(pad) + body;
  if (alignment === '<') return signText + body + fill.repeat(pad);
  if (alignment === '^') return fill.repeat(Math.floor(pad / 2)) + signText + body + fill.repeat(Math.ceil(pad / 2));
  return fill.repeat(pad) + signText + body;
}

/** JavaScript's '1.5e+3' as Python writes it: '1.5e+03'. */
const pythonExp = (text: string): string => text.replace(/e([+-])(\d)$/, 'e$10$2');

/** Python's 'g': `precision` significant digits, trailing zeros removed. */
function pythonGeneral(abs: number, precision: number): string {
  const p = precision === 0 ? 1 : precision;
  if (abs === 0) return '0';
  const exponent = Number(abs.toExponential(p - 1).split('e')[1]);
  if (exponent < -4 || exponent >= p) return pythonExp(abs.toExponential(p - 1).replace(/\.?0+e/, 'e'));
  const fixed = abs.toFixed(Math.max(0, p - 1 - exponent));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/**
 * The file name (without extension) for a template and the values by name
 * (a name without a value is an error naming it; Lightning would put 0).
 * Without a spec, `counters` (epoch, step) print as integers, other values with 4 decimals.
 */
export function formatCheckpointName(template: string, values: ReadonlyMap<string, number>, autoInsertMetricName: boolean,
  counters: ReadonlySet<string> = new Set(['epoch', 'step']), where = 'ModelCheckpoint'): string {
  return template.replace(/\{([^{}:]+)(?::([^{}]*))?\}/g, (_, name: string, spec: string | undefined) => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`${where}: the file name template uses '{${name}}', which was not logged; available: ${[...values.keys()].sort().join(', ') || 'none'}`);
    const text = spec === undefined || spec === '' ? (counters.has(name) ? String(value) : value.toFixed(4)) : formatNumber(value, spec, where);
    return autoInsertMetricName ? `${name.replace(/\//g, '_')}=${text}` : text;
  });
}
