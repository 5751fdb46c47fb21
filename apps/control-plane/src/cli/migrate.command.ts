import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createEventStore,
  ensureLogIdentity,
  EventStoreConfigError,
  parseEventStoreConfig,
  type EventStore,
  type EventStoreConfig,
} from '@rf/event-store';
import {
  ALL_PROJECTIONS,
  dumpReadModels,
  openReadModelsDatabase,
  rebuildReadModels,
  stampReadModelsLog,
} from '@rf/projections';
import { isDeepStrictEqual } from 'node:util';
import { AppConfig } from '../core/app-config';
import { LogMigration, type MigrationProgress } from '../services/log-migration.service';
import { CliUsageError, parseOptions, processOutput, single, type CliOutput } from './cli-options';

/** The target's read models, next to the source's; `serve` on the target uses them once renamed. */
export const MIGRATED_READ_MODELS = 'readmodels.migrated.db';

const USAGE = `Usage: restic-fleet migrate --to URL [--batch-size N] [--max-events N]
  Copies the embedded event log (RF_DATA_DIR/events.db, or RF_EVENTSTORE=sqlite:///…) into another
  store, then checks the copy and builds the target's read models.
  --to URL          esdb://…, esdb+discover://…, kurrentdb://… (EventStoreDB/KurrentDB), or
                    sqlite:///absolute/path.db (another embedded log)
  --batch-size N    events per append, at most (default 500)
  --max-events N    stop after copying N events; run again to continue
  Resumable: a rerun skips what the target already holds (same event ids at the same revisions,
  appended at exact expected revisions), so a stopped or failed run is simply run again.
  Safe while \`serve\` runs on the source; events it appends after the copy are copied by a rerun.
  After the copy: every stream's events and metadata are compared, and read models are rebuilt
  from the target into RF_DATA_DIR/${MIGRATED_READ_MODELS} and compared with a rebuild from the
  source. To switch: stop serve, run migrate once more, rename ${MIGRATED_READ_MODELS} to
  readmodels.db (the old one holds positions of the old log), set RF_EVENTSTORE to the target.
  Exit: 0 copied and verified; 1 failed or differs; 2 bad usage; 3 stopped by --max-events.
`;

interface MigrateArgs {
  readonly target: EventStoreConfig;
  readonly batchSize?: number;
  readonly maxEvents?: number;
}

/** `restic-fleet migrate --to URL`. */
export async function runMigrate(
  argv: string[],
  out: CliOutput = processOutput(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let args: MigrateArgs;
  let config: AppConfig;
  try {
    const opts = parseOptions(argv, { values: ['to', 'batch-size', 'max-events'], flags: ['help'] });
    if (opts.flags.has('help')) {
      out.stdout(USAGE);
      return 0;
    }
    config = AppConfig.fromEnv(env);
    args = parseArgs(single(opts, 'to'), single(opts, 'batch-size'), single(opts, 'max-events'), config);
  } catch (err) {
    out.stderr(`restic-fleet migrate: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (config.eventStore.kind !== 'sqlite') {
    out.stderr(
      'restic-fleet migrate: the source must be the embedded log (RF_EVENTSTORE unset or sqlite:…)\n',
    );
    return 2;
  }
  if (!fs.existsSync(config.eventStore.path)) {
    out.stderr(
      `restic-fleet migrate: no event log at ${config.eventStore.path} (check RF_DATA_DIR / RF_EVENTSTORE)\n`,
    );
    return 2;
  }

  const source = createEventStore(config.eventStore, { readonly: true });
  let target: EventStore | undefined;
  const bar = progressPrinter(out);
  try {
    target = createEventStore(args.target);
    const migration = new LogMigration(source, target, {
      ...(args.batchSize !== undefined ? { batchSize: args.batchSize } : {}),
      ...(args.maxEvents !== undefined ? { maxEvents: args.maxEvents } : {}),
      onProgress: bar.show,
      progressEveryMs: out.interactive ? 200 : 2000,
    });
    const copy = await migration.copy();
    bar.end();
    out.stdout(`copied ${copy.copied} events (${copy.present} were already in the target)\n`);
    if (!copy.complete) {
      out.stdout('stopped after --max-events; run the same command again to continue\n');
      return 3;
    }
    const metadata = await migration.copyMetadata();
    bar.end();
    if (metadata > 0) out.stdout(`set the metadata or deletion of ${metadata} streams\n`);
    const verified = await migration.verify();
    bar.end();
    if (verified.foreignCount > 0) {
      out.stderr(
        `restic-fleet migrate: the target holds ${verified.foreignCount} streams that are not in this log ` +
          `(${verified.foreignStreams.join(', ')}…): the control plane would read them too; migrate into an empty store\n`,
      );
      return 1;
    }
    if (verified.mismatches.length > 0) {
      out.stderr(
        `restic-fleet migrate: the target differs from the source:\n${verified.mismatches.map((m) => `  ${m}\n`).join('')}`,
      );
      return 1;
    }
    out.stdout(`verified ${verified.streams} streams, ${verified.events} events: the same in both logs\n`);
    const readModels = await buildReadModels(source, target, config.readModelsPath, out);
    if (readModels) {
      out.stderr(`restic-fleet migrate: ${readModels}\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    bar.end();
    out.stderr(`restic-fleet migrate: failed: ${err instanceof Error ? err.message : String(err)}\n`);
    out.stderr('restic-fleet migrate: what was copied stays; run the same command again to continue\n');
    return 1;
  } finally {
    await source.close();
    await target?.close();
  }
}

function parseArgs(
  to: string | undefined,
  batch: string | undefined,
  max: string | undefined,
  config: AppConfig,
): MigrateArgs {
  if (to === undefined) throw new CliUsageError('--to is required');
  let target: EventStoreConfig;
  try {
    target = parseEventStoreConfig({ RF_EVENTSTORE: to });
  } catch (err) {
    if (err instanceof EventStoreConfigError)
      throw new CliUsageError(`--to: ${err.message.replace(/^RF_EVENTSTORE: /, '')}`);
    throw err;
  }
  if (to.trim().toLowerCase() === 'sqlite' || to.trim() === '') throw new CliUsageError('--to needs a URL');
  if (
    target.kind === 'sqlite' &&
    config.eventStore.kind === 'sqlite' &&
    path.resolve(target.path) === path.resolve(config.eventStore.path)
  ) {
    throw new CliUsageError('--to names the source log itself');
  }
  return {
    target,
    ...(batch !== undefined ? { batchSize: positive('--batch-size', batch) } : {}),
    ...(max !== undefined ? { maxEvents: positive('--max-events', max) } : {}),
  };
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new CliUsageError(`${name} must be a whole number of at least 1, not "${value}"`);
  }
  return n;
}

/**
 * Rebuilds the read models from the target into a fresh file (no checkpoint of
 * the source's positions survives) and from the source into a scratch file,
 * and compares them. Returns what differs, or undefined.
 */
async function buildReadModels(
  source: EventStore,
  target: EventStore,
  readModelsPath: string,
  out: CliOutput,
): Promise<string | undefined> {
  const migratedPath = path.join(path.dirname(readModelsPath), MIGRATED_READ_MODELS);
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-migrate-'));
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${migratedPath}${suffix}`, { force: true });
  const migrated = openReadModelsDatabase(migratedPath);
  const reference = openReadModelsDatabase(path.join(scratchDir, 'readmodels.db'));
  try {
    out.stderr('rebuilding the read models from the target…\n');
    const built = await rebuildReadModels(target, migrated, ALL_PROJECTIONS);
    out.stderr('rebuilding the read models from the source, to compare…\n');
    await rebuildReadModels(source, reference, ALL_PROJECTIONS);
    const a = dumpReadModels(reference);
    const b = dumpReadModels(migrated);
    for (const table of Object.keys(a)) {
      if (!isDeepStrictEqual(a[table], b[table])) {
        return `the read models built from the target differ from the source's in table ${table} (${a[table]?.length ?? 0} rows from the source, ${b[table]?.length ?? 0} from the target)`;
      }
    }
    // Stamped with the target's own id (the source's stays with the source: it is metadata, never copied),
    // so serve on the target takes them, and refuses the old readmodels.db (docs/architecture.md, "Log identity").
    const targetLog = await ensureLogIdentity(target);
    stampReadModelsLog(migrated, targetLog);
    out.stdout(
      `read models rebuilt from the target (${built.eventsRead} events, log ${targetLog}) into ${migratedPath}; they match a rebuild from the source\n`,
    );
    return undefined;
  } finally {
    migrated.close();
    reference.close();
    fs.rmSync(scratchDir, { recursive: true, force: true });
  }
}

function progressPrinter(out: CliOutput): { show: (p: MigrationProgress) => void; end: () => void } {
  let drawn = false;
  const show = (p: MigrationProgress): void => {
    const fraction = p.head > 0n ? Math.min(1, Number(p.position) / Number(p.head)) : 1;
    const width = 30;
    const done = Math.floor(fraction * width);
    const line =
      `${p.phase.padEnd(9)} [${'#'.repeat(done)}${'-'.repeat(width - done)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ` +
      `${p.copied.toLocaleString('en-US')} copied, ${p.present.toLocaleString('en-US')} already there`;
    if (out.interactive) {
      out.stderr(`\r${line}\x1b[K`);
      drawn = true;
    } else out.stderr(`${line}\n`);
  };
  const end = (): void => {
    if (drawn) out.stderr('\n');
    drawn = false;
  };
  return { show, end };
}
