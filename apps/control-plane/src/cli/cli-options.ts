/** A tiny `--flag value` parser for the projections and audit CLIs; errors name the option. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

export interface ParsedOptions {
  readonly values: Map<string, string[]>;
  readonly flags: Set<string>;
}

export function parseOptions(
  argv: readonly string[],
  spec: { values: readonly string[]; flags: readonly string[] },
): ParsedOptions {
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new CliUsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    if (spec.flags.includes(name)) {
      if (eq >= 0) throw new CliUsageError(`--${name} takes no value`);
      flags.add(name);
      continue;
    }
    if (!spec.values.includes(name)) throw new CliUsageError(`unknown option --${name}`);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) {
      throw new CliUsageError(`--${name} needs a value`);
    }
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  return { values, flags };
}

/** The last value given for an option that may appear once. */
export const single = (o: ParsedOptions, name: string): string | undefined => o.values.get(name)?.at(-1);

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stderr is a terminal (progress bars redraw in place). */
  readonly interactive: boolean;
}

export const processOutput = (): CliOutput => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  interactive: process.stderr.isTTY === true,
});
