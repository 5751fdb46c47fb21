import { performance } from 'node:perf_hooks';
import * as path from 'node:path';
import { createSqliteEventStore } from '@rf/event-store';
import { alertStream, channelStream, fleetEvent, hostStream, toEventData } from '@rf/events';
import { AlertRulesProcess, ChannelSender, FleetWatch, Notifier, sealChannelSettings } from '@rf/alerts';
import { FleetLog, HttpReceiver, MemoryLog, testSealer } from '@rf/alerts/testing';
import { percentile } from '../e2e/live-tail.helpers';
import { configureChannel } from '../support/alert-channels';
import { positiveIntOption } from '../support/bench-args';
import { ControlPlaneProcess } from '../support/control-plane.process';

/*
 * Alerts benchmark, two parts (docs/alerts.md):
 *  1. Rule evaluation: a fleet of N hosts, each with two backup schedules and
 *     ten backups of history, folded into the rules process; then R rounds,
 *     each advancing the clock 30 s with some churn (jobs ending, agents
 *     leaving and coming back) and timing one evaluate(now) — the first round
 *     (which computes every schedule's deadline) reported apart; then the
 *     rules' state written to and read from its snapshot JSON.
 *  2. Delivery: A alerts to one webhook channel on a local receiver through
 *     the notifier (per-channel queue, records in an in-memory log), next to
 *     the raw limit: plain POSTs of the same bodies, same concurrency, same receiver.
 *  3. Through the control plane: a real `restic-fleet serve` process with a
 *     webhook channel; C alerts put in its log while it is stopped, then timed
 *     from its restart's "listening" until every one was accepted by the
 *     receiver and its NotificationSent is in the log (state, notifier, one
 *     durable append per delivery included).
 *
 *   npm run bench:alerts -- [--hosts 5000] [--rounds 200] [--alerts 2000] [--cp-alerts 500] [--json]
 */

interface Options {
  hosts: number;
  rounds: number;
  alerts: number;
  cpAlerts: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  return {
    hosts: positiveIntOption(argv, '--hosts', 5000),
    rounds: positiveIntOption(argv, '--rounds', 200),
    alerts: positiveIntOption(argv, '--alerts', 2000),
    cpAlerts: positiveIntOption(argv, '--cp-alerts', 500),
    json: argv.includes('--json'),
  };
}

const stats = (i: number, files: number) => ({
  files_new: files,
  files_changed: files,
  data_added: 1_000_000 + (i % 7) * 1000,
  total_bytes_processed: 5_000_000_000,
});

function buildFleet(hosts: number): FleetLog {
  const log = new FleetLog('2024-05-01T00:00:00Z');
  for (let h = 0; h < hosts; h++) {
    const id = `h${h}`;
    log.enrol(id).connect(id);
    log.schedules(id, 1, [
      { id: 'nightly', cron: `${h % 60} ${h % 6} * * *`, paths: ['/srv'] },
      { id: 'hourly', cron: `${h % 60} * * * *`, paths: ['/home'] },
    ]);
    log.applied(id, 1);
  }
  // Ten days of history: a nightly backup a day and an hourly one, all succeeded.
  let job = 0;
  for (let day = 0; day < 10; day++) {
    log.at(Date.parse('2024-05-01T00:00:00Z') + day * 86_400_000 + 6 * 3_600_000);
    for (let h = 0; h < hosts; h++) {
      log.job(`j${job++}`, `h${h}`, 'backup', 'succeeded', {
        schedule: 'nightly',
        paths: ['/srv'],
        stats: stats(job, 50),
      });
      log.job(`j${job++}`, `h${h}`, 'backup', 'succeeded', {
        schedule: 'hourly',
        paths: ['/home'],
        stats: stats(job, 5),
      });
    }
  }
  return log;
}

function benchRules(o: Options) {
  const log = buildFleet(o.hosts);
  const events = log.events.length;
  const rules = new AlertRulesProcess({ watchingSince: new Date(log.now) });
  // Feeds what the log gained to the process, then lets the log forget it (the rules keep their own state).
  const feed = (): void => {
    for (const e of log.events) rules.apply(e);
    log.events.length = 0;
  };
  const folded = performance.now();
  feed();
  const foldMs = performance.now() - folded;
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let decisions = 0;
  let job = 10_000_000;
  let first = 0;
  for (let round = 0; round <= o.rounds; round++) {
    log.after(30_000);
    // Churn: a few jobs end (one in ten fails), an agent leaves, another comes back.
    for (let k = 0; k < 20; k++) {
      const h = `h${(round * 37 + k * 101) % o.hosts}`;
      log.job(`j${job++}`, h, 'backup', k % 10 === 0 ? 'failed' : 'succeeded', {
        schedule: 'hourly',
        paths: ['/home'],
        stats: stats(job, 5),
      });
    }
    log.disconnect(`h${(round * 13) % o.hosts}`).connect(`h${(round * 13 + 7) % o.hosts}`);
    feed();
    const t = performance.now();
    const cpu = process.cpuUsage();
    const d = rules.evaluate(new Date(log.now));
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    cpuTimes.push((used.user + used.system) / 1000);
    for (const x of d) log.record(x.event, x.eventId);
    feed();
    decisions += d.length;
    if (round === 0) first = ms;
    else times.push(ms);
  }
  // The state snapshot the control plane writes every minute and reads at start (docs/alerts.md).
  const encodeStart = performance.now();
  const snapshot = JSON.stringify(rules.watch.toSnapshot());
  const snapshotMs = performance.now() - encodeStart;
  const decodeStart = performance.now();
  FleetWatch.fromSnapshot(JSON.parse(snapshot));
  const restoreMs = performance.now() - decodeStart;
  return {
    events,
    foldMs,
    first,
    times,
    cpuTimes: cpuTimes.slice(1),
    decisions,
    snapshotMs,
    restoreMs,
    snapshotBytes: Buffer.byteLength(snapshot),
  };
}

async function benchDelivery(o: Options) {
  const rx = await HttpReceiver.start();
  const sealer = testSealer();
  try {
    // Raw limit: the same number of POSTs, two at a time (the notifier's per-channel concurrency).
    const body = JSON.stringify({ event: 'alert.raised', alert: { id: 'x', summary: 'y'.repeat(120) } });
    let next = 0;
    const rawStart = performance.now();
    const worker = async () => {
      while (next < o.alerts) {
        next++;
        const res = await fetch(rx.url('/raw'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.text();
      }
    };
    await Promise.all([worker(), worker()]);
    const rawS = (performance.now() - rawStart) / 1000;

    const log = new MemoryLog();
    log.add(channelStream('hook'), 'ChannelConfigured', {
      channel_id: 'hook',
      kind: 'webhook',
      name: 'bench',
      settings: sealChannelSettings(
        'webhook',
        { url: rx.url('/hook'), secret: 'bench-signing-secret' },
        sealer,
      ),
      configured_at: new Date().toISOString(),
    });
    for (let i = 0; i < o.alerts; i++) {
      log.add(alertStream(`a${i}`), 'AlertRaised', {
        alert_id: `a${i}`,
        rule: 'job_failed',
        severity: 'error',
        subject: `host:h${i}/kind:backup`,
        host_id: `h${i}`,
        hostname: `web-${i}`,
        summary: `backup job failed on web-${i}: the repository password is wrong`,
        details: {},
        raised_at: new Date().toISOString(),
      });
    }
    const before = rx.requests.length;
    const notifier = new Notifier({ sender: new ChannelSender(), sealer, log });
    const start = performance.now();
    log.follow(
      (e) => notifier.apply(e),
      () => notifier.wake(),
    );
    const deadline = Date.now() + 300_000;
    while (log.count('NotificationSent') < o.alerts && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    const seconds = (performance.now() - start) / 1000;
    await notifier.close();
    return {
      delivered: log.count('NotificationSent'),
      failed: log.count('NotificationFailed'),
      requests: rx.requests.length - before,
      seconds,
      rawPerS: o.alerts / rawS,
    };
  } finally {
    await rx.close();
  }
}

async function benchControlPlane(o: Options) {
  const rx = await HttpReceiver.start();
  let cp = await ControlPlaneProcess.start({ startTimeoutMs: 60_000 });
  const dataDir = cp.dataDir;
  try {
    await configureChannel(dataDir, {
      kind: 'webhook',
      name: 'bench',
      settings: { url: rx.url('/hook'), secret: 'bench-signing-secret' },
    });
    // The alerts go into the log while the control plane is stopped, so nothing else writes while it delivers.
    await cp.stop();
    const store = createSqliteEventStore({ path: path.join(dataDir, 'events.db') });
    const meta = {
      actor: { kind: 'system' as const, id: 'bench' },
      correlation_id: 'bench',
      causation_id: 'bench',
      received_at: new Date().toISOString(),
    };
    // Known hosts, and alerts only an acknowledgement closes: each owes exactly one raised notice.
    for (let i = 0; i < o.cpAlerts; i++) {
      const at = new Date().toISOString();
      await store.append(hostStream(`bh${i}`), [
        toEventData(
          fleetEvent('HostEnrolled', {
            host_id: `bh${i}`,
            hostname: `bench-${i}`,
            os: 'linux',
            arch: 'amd64',
            agent_secret_hash: 'x',
            enrolment_token_id: 'bench',
            enrolled_at: at,
          }),
          meta,
        ),
      ]);
      await store.append(alertStream(`ba${i}`), [
        toEventData(
          fleetEvent('AlertRaised', {
            alert_id: `ba${i}`,
            rule: 'log_lines_dropped',
            severity: 'warning',
            subject: `host:bh${i}`,
            host_id: `bh${i}`,
            hostname: `bench-${i}`,
            summary: `bench-${i} dropped log lines`,
            details: {},
            raised_at: at,
          }),
          meta,
        ),
      ]);
    }
    await store.close();
    cp = await ControlPlaneProcess.start({ dataDir, startTimeoutMs: 60_000 });
    // From "listening" (boot caught up, notifier started) until every notice is accepted and recorded.
    const start = performance.now();
    const reader = createSqliteEventStore({ path: path.join(dataDir, 'events.db'), readonly: true });
    const deadline = Date.now() + 300_000;
    let sent = 0;
    while (Date.now() < deadline) {
      // Reading the log costs CPU the control plane needs: only once the receiver has them all.
      if (rx.requests.length < o.cpAlerts) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      sent = 0;
      for await (const e of reader.readAll({ fromPosition: 'start' }))
        if (e.type === 'NotificationSent') sent++;
      if (sent >= o.cpAlerts) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - start) / 1000;
    await reader.close();
    return { sent, requests: rx.requests.length, seconds };
  } finally {
    await cp.stop();
    cp.removeDataDir();
    await rx.close();
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const r = benchRules(o);
  const d = await benchDelivery(o);
  const c = await benchControlPlane(o);
  const result = {
    hosts: o.hosts,
    schedules: o.hosts * 2,
    log_events: r.events,
    fold_ms: Math.round(r.foldMs),
    rounds: r.times.length,
    first_eval_ms: Number(r.first.toFixed(1)),
    eval_ms_p50: Number(percentile(r.times, 50).toFixed(2)),
    eval_ms_p99: Number(percentile(r.times, 99).toFixed(2)),
    eval_ms_max: Number(percentile(r.times, 100).toFixed(2)),
    eval_cpu_ms_p99: Number(percentile(r.cpuTimes, 99).toFixed(2)),
    decisions: r.decisions,
    snapshot_ms: Math.round(r.snapshotMs),
    snapshot_restore_ms: Math.round(r.restoreMs),
    snapshot_bytes: r.snapshotBytes,
    alerts_delivered: d.delivered,
    delivery_failures: d.failed,
    receiver_requests: d.requests,
    notifications_per_s: Math.round(d.delivered / d.seconds),
    raw_webhooks_per_s: Math.round(d.rawPerS),
    cp_alerts: o.cpAlerts,
    cp_notifications_sent: c.sent,
    cp_receiver_requests: c.requests,
    cp_notifications_per_s: Math.round(c.sent / c.seconds),
  };
  const rows: Array<[string, string]> = [
    ['hosts (backup schedules)', `${result.hosts} (${result.schedules})`],
    ['log folded', `${result.log_events} events in ${result.fold_ms} ms`],
    ['first evaluation (all deadlines computed)', `${result.first_eval_ms} ms`],
    [
      `evaluation p50 / p99 / max (${result.rounds} rounds)`,
      `${result.eval_ms_p50} / ${result.eval_ms_p99} / ${result.eval_ms_max} ms`,
    ],
    ['evaluation CPU time p99 (this process only)', `${result.eval_cpu_ms_p99} ms`],
    ['decisions (raise + resolve)', String(result.decisions)],
    [
      'rules state snapshot: write / restore / size',
      `${result.snapshot_ms} ms / ${result.snapshot_restore_ms} ms / ${(result.snapshot_bytes / 1048576).toFixed(1)} MiB`,
    ],
    [
      'webhooks delivered and recorded',
      `${result.alerts_delivered} (${result.receiver_requests} requests, ${result.delivery_failures} failures)`,
    ],
    ['notifier webhooks/s', String(result.notifications_per_s)],
    ['raw POSTs/s (same receiver, concurrency 2)', String(result.raw_webhooks_per_s)],
    [
      `through a restarted control plane (${result.cp_alerts} alerts owed)`,
      `${result.cp_notifications_per_s} webhooks/s recorded (${result.cp_notifications_sent} sent, ${result.cp_receiver_requests} requests)`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write('alerts benchmark (rules process and notifier in process; delivery through serve)\n');
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
