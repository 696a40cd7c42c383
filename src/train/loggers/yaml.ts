// A small YAML writer for hparams.yaml (Lightning's CSVLogger and
// TensorBoardLogger write one): numbers, strings, booleans, null, arrays and
// nested plain objects, block style; strings are quoted (JSON style) whenever
// plain YAML could read them as something else.

const PLAIN = /^[A-Za-z_][A-Za-z0-9_ .\/-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan';
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
    return String(value);
  }
  const text = String(value);
  return PLAIN.test(text) && !RESERVED.test(text) && !text.endsWith(' ') ? text : JSON.stringify(text);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isEmpty = (v: unknown): boolean => (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0);

function lines(value: unknown, indent: string): string[] {
  const out: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if ((Array.isArray(item) || isObject(item)) && !isEmpty(item)) {
        const inner = lines(item, indent + '  ');
        out.push(`${indent}- ${inner[0].trimStart()}`, ...inner.slice(1));
      } else out.push(`${indent}- ${Array.isArray(item) ? '[]' : isObject(item) ? '{}' : scalar(item)}`);
    }
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const name = scalar(key);
      if ((Array.isArray(item) || isObject(item)) && !isEmpty(item)) out.push(`${indent}${name}:`, ...lines(item, indent + '  '));
      else out.push(`${indent}${name}: ${Array.isArray(item) ? '[]' : isObject(item) ? '{}' : scalar(item)}`);
    }
  }
  return out;
}

/** A YAML document of a plain object (`{}` when empty). */
export function toYaml(value: Record<string, unknown>): string {
  const body = lines(value, '');
  return body.length === 0 ? '{}\n' : body.join('\n') + '\n';
}
