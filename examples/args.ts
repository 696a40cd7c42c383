// The examples' small command-line readers: `--flag value` pairs, nothing more.
const argv = process.argv.slice(2);

/** The value after `flag`, or undefined. */
export function flagValue(flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** The number after `flag`, or undefined. */
export function flagNumber(flag: string): number | undefined {
  const v = flagValue(flag);
  return v === undefined ? undefined : Number(v);
}
