/** `--name <n>` from a bench's argv as a positive integer, or the fallback; a bad value stops the bench with its name. */
export function positiveIntOption(argv: readonly string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} needs a positive integer`);
  return v;
}
