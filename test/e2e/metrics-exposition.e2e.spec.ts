import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess, repoRoot } from '../support/control-plane.process';
import { RestClient } from '../support/rest-client';
import { onlineAgentWithJob } from '../support/scripted-agent';

/*
 * The Prometheus exposition of a real control plane process after real
 * traffic (HTTP requests, an agent's acked envelopes), linted by `promtool
 * check metrics` (Debian `prometheus`), and the Grafana dashboard in
 * deploy/grafana checked against what that process really exposes.
 */

const NODE_ID = `node-${randomUUID().slice(0, 8)}`;
const DASHBOARD = path.join(repoRoot(), 'deploy', 'grafana', 'restic-fleet-control-plane.json');

/** Metric family names from `# TYPE` lines, with the sample names each family exposes. */
function exposedSampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m;
    names.add(name!);
    if (type === 'histogram' || type === 'summary')
      for (const s of ['_bucket', '_sum', '_count']) names.add(name! + s);
  }
  return names;
}

/** Every `expr` and templating `query` string in a dashboard document, wherever it is nested. */
function queriesIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const v of node) queriesIn(v, out);
  else if (typeof node === 'object' && node !== null)
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'expr' || k === 'query' || k === 'definition') && typeof v === 'string') out.push(v);
      else queriesIn(v, out);
    }
  return out;
}

describe('Prometheus /metrics exposition (e2e)', () => {
  let cp: ControlPlaneProcess;
  let text = '';

  before(async () => {
    cp = await ControlPlaneProcess.start({ env: { RF_NODE_ID: NODE_ID } });
    const admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    const { agent, identity } = await onlineAgentWithJob(admin, cp.wsUrl);
    assert.equal((await admin.get(`/api/hosts/${identity.agentId}`)).status, 200);
    // A repository with a reported size and a succeeded check, so its series are exposed and linted too.
    const repo = await admin.put(`/api/hosts/${identity.agentId}/repository`, {
      url: '/srv/restic/metrics',
      password: 'metrics-repo-password',
    });
    assert.equal(repo.status, 200);
    const check = await admin.post<{ job_id: string }>(`/api/hosts/${identity.agentId}/jobs`, {
      kind: 'check',
    });
    assert.equal(check.status, 202);
    await agent.acceptJob(check.body.job_id);
    const now = new Date().toISOString();
    await agent.waitForAcks([
      agent.send(
        'job.finished',
        { job_id: check.body.job_id, status: 'succeeded', exit_code: 0, finished_at: now, stats: {} },
        check.body.job_id,
      ).id,
      agent.send('repo.stats', { total_size_bytes: 2048, snapshot_count: 1 }).id,
    ]);
    assert.equal((await admin.get(`/api/hosts/${randomUUID()}`)).status, 404);
    assert.equal((await admin.get(`/no-such-page-${randomUUID()}`)).status, 404);
    agent.close();
    const res = await new RestClient(cp.url).get<string>('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain;.*\bversion=0\.0\.4\b/);
    text = res.body;
  });

  after(async () => {
    await cp?.stop();
    cp?.removeDataDir();
  });

  it('passes `promtool check metrics` with no problem reported', () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.error, undefined, `promtool could not run (bootstrap --for test installs it): ${r.error}`);
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'promtool reports no lint problem');
  });

  it('labels every sample with this node and names the process metrics in base units', () => {
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.ok(samples.length > 50, `only ${samples.length} samples`);
    for (const s of samples)
      assert.ok(s.includes(`node="${NODE_ID}"`), `sample without the node label: ${s}`);
    const names = exposedSampleNames(text);
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_gc_duration_seconds',
      'rf_projection_lag_seconds',
      'rf_projection_lag_events',
      'rf_agents_connected',
      'rf_envelopes_acked_total',
      'rf_events_appended_total',
      'rf_agent_resends_skipped_total',
      'rf_jobs',
      'rf_repository_size_bytes',
      'rf_repository_last_maintenance_age_seconds',
      'rf_live_subscribers',
      'rf_live_feeds',
      'rf_live_dropped_lines_total',
      'rf_alerts_open',
      'rf_notifications_total',
    ])
      assert.ok(names.has(name), `${name} is exposed`);
    assert.ok(!names.has('rf_projection_lag_ms'), 'the millisecond lag gauge was renamed to seconds');
    assert.match(
      text,
      /^rf_repository_size_bytes\{[^}]*repository_id="[0-9a-f-]{36}",repository="[^"]+"[^}]*\} 2048$/m,
    );
    assert.match(
      text,
      /^rf_repository_last_maintenance_age_seconds\{[^}]*repository_id="[0-9a-f-]{36}"[^}]*\} \d/m,
    );
  });

  it('times agent acks and HTTP requests by route template, not raw path', () => {
    const ackCount = new RegExp(
      `^rf_agent_ack_latency_seconds_count\\{node="${NODE_ID}"\\} (\\d+)$`,
      'm',
    ).exec(text);
    assert.ok(ackCount && Number(ackCount[1]) >= 1, 'the accepted job envelope was timed to its ack');
    const routes = new Set(
      [...text.matchAll(/^rf_http_request_duration_seconds_count\{([^}]*)\} \d+$/gm)].map(
        (m) => /route="([^"]*)"/.exec(m[1]!)?.[1],
      ),
    );
    assert.ok(routes.has('/api/hosts/:id'), `routes seen: ${[...routes].join(', ')}`);
    assert.ok(routes.has('/api/auth/login'), `routes seen: ${[...routes].join(', ')}`);
    assert.ok(
      routes.has('unmatched'),
      `a request no route matched is one series; routes seen: ${[...routes].join(', ')}`,
    );
    for (const r of routes)
      assert.doesNotMatch(r ?? '', /[0-9a-f]{8}-[0-9a-f]{4}-/, 'no raw id in a route label');
    assert.match(
      text,
      new RegExp(
        `^rf_http_request_duration_seconds_count\\{[^}]*route="/api/hosts/:id"[^}]*status="404"[^}]*\\} 1$`,
        'm',
      ),
    );
  });

  it('has a Grafana dashboard whose queries use only metrics this process exposes', () => {
    const dashboard: unknown = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
    assert.ok(typeof dashboard === 'object' && dashboard !== null && 'panels' in dashboard);
    const queries = queriesIn(dashboard);
    assert.ok(queries.length >= 10, `only ${queries.length} queries`);
    const exposed = exposedSampleNames(text);
    const used = new Set(
      queries.flatMap((q) => [...q.matchAll(/\b(?:rf|process|nodejs)_[a-z0-9_]+\b/g)].map((m) => m[0])),
    );
    assert.ok(used.size >= 10);
    for (const name of used)
      assert.ok(exposed.has(name), `dashboard uses ${name}, which /metrics does not expose`);
  });
});
