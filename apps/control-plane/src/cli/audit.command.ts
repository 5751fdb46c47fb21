import * as fs from 'node:fs';
import type Database from 'better-sqlite3';
import { createEventStore, type EventStore } from '@rf/event-store';
import { AuditQuery, HostsQuery, openReadModelsDatabase, parseSince, type AuditLine } from '@rf/projections';
import { AppConfig } from '../core/app-config';
import { CliUsageError, parseOptions, processOutput, single, type CliOutput } from './cli-options';

const USAGE = `Usage: restic-fleet audit [--stream S] [--since T] [--actor A] [--limit N] [--json]
  --stream S   an exact stream (job-<id>) or a category (job, host, schedules, joblog, …);
               job log telemetry (joblog-*) is left out unless asked for here
  --since T    an ISO time or an age: 30m, 24h, 7d
  --actor A    a user name or id, an agent's host id or name, a schedule id
  --limit N    only the N most recent lines
  --json       one JSON object per line instead of a table
  Reads the event log directly (read-only); uses RF_DATA_DIR and RF_EVENTSTORE like serve.
`;

function table(lines: readonly AuditLine[]): string {
  if (lines.length === 0) return 'no matching events\n';
  const header = { time: 'TIME', actor: 'ACTOR', action: 'ACTION', summary: 'SUMMARY' };
  const actorW = Math.min(24, Math.max(header.actor.length, ...lines.map((l) => l.actor.length)));
  const actionW = Math.max(header.action.length, ...lines.map((l) => l.action.length));
  const clip = (s: string, w: number): string => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const row = (t: string, a: string, c: string, s: string): string =>
    `${t.padEnd(24)}  ${clip(a, actorW)}  ${c.padEnd(actionW)}  ${s}\n`;
  return (
    row(header.time, header.actor, header.action, header.summary) +
    lines.map((l) => row(l.time, l.actor, l.action, l.summary)).join('')
  );
}

/** `restic-fleet audit …`: exit 0 with the trail printed, 1 on a read failure, 2 on bad usage or configuration. */
export async function runAudit(
  argv: string[],
  out: CliOutput = processOutput(),
  env: NodeJS.ProcessEnv = process.env,
  now: () => Date = () => new Date(),
): Promise<number> {
  let config: AppConfig;
  let filter: { stream?: string; since?: Date; actor?: string; limit?: number };
  let json: boolean;
  try {
    const opts = parseOptions(argv, {
      values: ['stream', 'since', 'actor', 'limit'],
      flags: ['json', 'help'],
    });
    if (opts.flags.has('help')) {
      out.stdout(USAGE);
      return 0;
    }
    json = opts.flags.has('json');
    const limitRaw = single(opts, 'limit');
    if (limitRaw !== undefined && !/^[1-9]\d{0,8}$/.test(limitRaw)) {
      throw new CliUsageError(`--limit must be a positive whole number, got "${limitRaw}"`);
    }
    const sinceRaw = single(opts, 'since');
    let since: Date | undefined;
    try {
      since = sinceRaw === undefined ? undefined : parseSince(sinceRaw, now());
    } catch (err) {
      throw new CliUsageError(`--${err instanceof Error ? err.message : String(err)}`);
    }
    filter = {
      stream: single(opts, 'stream'),
      since,
      actor: single(opts, 'actor'),
      limit: limitRaw === undefined ? undefined : Number(limitRaw),
    };
    config = AppConfig.fromEnv(env);
  } catch (err) {
    out.stderr(`restic-fleet audit: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (config.eventStore.kind === 'sqlite' && !fs.existsSync(config.eventStore.path)) {
    out.stderr(
      `restic-fleet audit: no event log at ${config.eventStore.path} (check RF_DATA_DIR / RF_EVENTSTORE)\n`,
    );
    return 2;
  }

  let store: EventStore | undefined;
  // Host names come from the read models when they exist; the trail falls back to ids without them.
  let readModels: Database.Database | undefined;
  try {
    store = createEventStore(config.eventStore, { readonly: true });
    let hosts: HostsQuery | undefined;
    if (fs.existsSync(config.readModelsPath)) {
      try {
        readModels = openReadModelsDatabase(config.readModelsPath, { readonly: true });
        hosts = new HostsQuery(readModels);
        hosts.get('');
      } catch {
        hosts = undefined;
      }
    }
    const names = { hostName: (id: string) => hosts?.get(id)?.hostname ?? undefined };
    const lines = await new AuditQuery(store, names).lines(filter);
    if (json) for (const l of lines) out.stdout(`${JSON.stringify(l)}\n`);
    else out.stdout(table(lines));
    return 0;
  } catch (err) {
    out.stderr(
      `restic-fleet audit: could not read the event log: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  } finally {
    readModels?.close();
    await store?.close();
  }
}
