import * as fs from 'node:fs';
import { createEventStore, readLogIdentity, type EventStore } from '@rf/event-store';
import {
  ALL_PROJECTIONS,
  isProjectionError,
  openReadModelsDatabase,
  readModelsLogId,
  rebuildReadModels,
  stampReadModelsLog,
} from '@rf/projections';
import { AppConfig } from '../core/app-config';
import { CliUsageError, parseOptions, processOutput, type CliOutput } from './cli-options';
import { renderRebuildProgress } from './rebuild-progress';

const USAGE = `Usage: restic-fleet projections rebuild [--name N]...
  Replays the whole event log into fresh read-model tables and swaps them in atomically.
  --name N   rebuild only projection N (repeatable); known: ${ALL_PROJECTIONS.map((p) => p.name).join(', ')}
  Safe while \`serve\` runs: it picks up the swapped tables on its next batch, without a restart.
  Uses RF_DATA_DIR and RF_EVENTSTORE like serve.
`;

/** `restic-fleet projections rebuild [--name N]`: exit 0 done, 1 failed, 2 bad usage or configuration. */
export async function runProjectionsRebuild(
  argv: string[],
  out: CliOutput = processOutput(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let names: string[];
  let config: AppConfig;
  try {
    const opts = parseOptions(argv, { values: ['name'], flags: ['help'] });
    if (opts.flags.has('help')) {
      out.stdout(USAGE);
      return 0;
    }
    names = (opts.values.get('name') ?? []).flatMap((n) => n.split(',')).map((n) => n.trim());
    const unknown = names.find((n) => !ALL_PROJECTIONS.some((p) => p.name === n));
    if (unknown !== undefined) {
      throw new CliUsageError(
        `--name: unknown projection "${unknown}"; known: ${ALL_PROJECTIONS.map((p) => p.name).join(', ')}`,
      );
    }
    config = AppConfig.fromEnv(env);
  } catch (err) {
    out.stderr(
      `restic-fleet projections rebuild: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`,
    );
    return 2;
  }

  if (config.eventStore.kind === 'sqlite' && !fs.existsSync(config.eventStore.path)) {
    out.stderr(
      `restic-fleet projections rebuild: no event log at ${config.eventStore.path} (check RF_DATA_DIR / RF_EVENTSTORE)\n`,
    );
    return 2;
  }
  // Read-only: the log is never written by a rebuild, and a running serve keeps the writer.
  let store: EventStore | undefined;
  const db = openReadModelsDatabase(config.readModelsPath);
  try {
    store = createEventStore(config.eventStore, { readonly: true });
    // A full rebuild may move read models to another log (docs/architecture.md, "Log identity");
    // rebuilding only some of them would leave the rest on the old one.
    const logId = await readLogIdentity(store);
    const builtFrom = readModelsLogId(db);
    const switchesLog = logId !== null && builtFrom !== null && builtFrom !== logId;
    if (switchesLog && names.length > 0) {
      out.stderr(
        `restic-fleet projections rebuild: the read models in ${config.readModelsPath} come from log ${builtFrom}, RF_EVENTSTORE names log ${logId}; rebuild all of them (without --name) to move them to this log\n`,
      );
      return 2;
    }
    let drawn = false;
    let lastLine = 0;
    const result = await rebuildReadModels(store, db, ALL_PROJECTIONS, {
      names,
      parallel: { eventStore: config.eventStore },
      progressEveryMs: out.interactive ? 200 : 2000,
      onProgress: (p) => {
        const line = renderRebuildProgress(p);
        if (out.interactive) {
          out.stderr(`\r${line}\x1b[K`);
          drawn = true;
        } else if (p.phase !== 'replaying' || Date.now() - lastLine >= 2000) {
          out.stderr(`${line}\n`);
          lastLine = Date.now();
        }
      },
    });
    if (drawn) out.stderr('\n');
    if (logId !== null && names.length === 0) stampReadModelsLog(db, logId);
    const seconds = result.elapsedMs / 1000;
    out.stdout(
      `rebuilt ${result.projections.join(', ')} from ${result.eventsRead} events in ${seconds.toFixed(1)} s ` +
        `(${Math.round(result.eventsRead / Math.max(seconds, 0.001))} events/s); checkpoint ${result.checkpoint?.commit ?? 'start'}, generation ${result.generation}\n`,
    );
    return 0;
  } catch (err) {
    const reason = isProjectionError(err)
      ? `${err.code}: ${err.message}`
      : err instanceof Error
        ? err.message
        : String(err);
    out.stderr(
      `\nrestic-fleet projections rebuild: failed, the previous read models are unchanged (${reason})\n`,
    );
    return 1;
  } finally {
    db.close();
    await store?.close();
  }
}
