/**
 * deploy/docker-compose.yml read as YAML and checked for what the recipe
 * promises (README.md, "Running on EventStoreDB"): no Docker engine runs it
 * here, so this is a reading of the file, not a run of it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { parseEventStoreConfig } from '@rf/event-store';
import { repoRoot } from '../support/control-plane.process';

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  command?: string[];
  entrypoint?: string[];
  network_mode?: string;
  healthcheck?: { test: string[] };
}

interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const deploy = path.join(repoRoot(), 'deploy');
const text = fs.readFileSync(path.join(deploy, 'docker-compose.yml'), 'utf8');
const doc = YAML.parseDocument(text, { merge: true });
const compose = doc.toJS({ maxAliasCount: 10 }) as Compose;
const services = compose.services;

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}`, substituted from `vars`. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::[-?][^}]*)?\}/g, (_, name: string) => vars[name] ?? '');
}

describe('deploy/docker-compose.yml (read, not run: no Docker engine here)', () => {
  it('is valid YAML with the four services and the volumes they mount', () => {
    assert.deepEqual(doc.errors, []);
    assert.deepEqual(Object.keys(services).sort(), [
      'control-plane',
      'kurrentdb',
      'kurrentdb-certs',
      'kurrentdb-scavenge',
    ]);
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const volume = v.split(':')[0]!;
        assert.ok(volume in compose.volumes, `${name} mounts ${volume}, which is declared`);
      }
      for (const dep of Object.keys(s.depends_on ?? {}))
        assert.ok(dep in services, `${name} depends on ${dep}`);
    }
  });

  it('pins every image to a version, KurrentDB included', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) continue;
      assert.match(s.image ?? '', /^[\w./-]+:\d[\w.-]*$/, `${name}: ${s.image ?? 'no image'}`);
    }
    assert.match(services.kurrentdb!.image!, /^kurrentplatform\/kurrentdb:\d+\.\d+\.\d+$/);
  });

  it('is secure by default: certificates generated first, TLS on, never insecure, passwords required', () => {
    const db = services.kurrentdb!;
    const env = db.environment ?? {};
    for (const key of Object.keys(env)) assert.doesNotMatch(key, /INSECURE/, `${key} must not be set`);
    assert.doesNotMatch(text, /INSECURE|tls=false/i);
    assert.equal(db.depends_on?.['kurrentdb-certs']?.condition, 'service_completed_successfully');
    assert.match(env.KURRENTDB_CERTIFICATE_FILE ?? '', /^\/etc\/kurrentdb\/certs\/node\/node\.crt$/);
    assert.match(env.KURRENTDB_CERTIFICATE_PRIVATE_KEY_FILE ?? '', /node\.key$/);
    assert.ok(env.KURRENTDB_TRUSTED_ROOT_CERTIFICATES_PATH);
    // The passwords come from the environment, and compose refuses to start without them.
    assert.match(env.KURRENTDB_DEFAULT_ADMIN_PASSWORD ?? '', /^\$\{KURRENTDB_ADMIN_PASSWORD:\?/);
    assert.match(env.KURRENTDB_DEFAULT_OPS_PASSWORD ?? '', /^\$\{KURRENTDB_OPS_PASSWORD:\?/);
    assert.equal(db.ports, undefined, 'KurrentDB is not published on the host');
    const certs = services['kurrentdb-certs']!;
    const script = (certs.command ?? []).join(' ');
    assert.match(
      script,
      /if \[ ! -f \/ca\/ca\/ca\.crt \]; then es-gencert-cli create-ca/,
      'made once, kept across restarts',
    );
    assert.match(
      script,
      /if \[ ! -f \/node\/node\/node\.crt \]; then es-gencert-cli create-node .*-dns-names kurrentdb/,
    );
    assert.match(script, /chmod 600 \/ca\/ca\/ca\.key/);
    assert.match(script, /chmod 600 \/node\/node\/node\.key/);
    // The CA's key is mounted only where it is made; KurrentDB's key only into KurrentDB.
    const mounting = (volume: string): string[] =>
      Object.entries(services)
        .filter(([, s]) => (s.volumes ?? []).some((v) => v.split(':')[0] === volume))
        .map(([n]) => n)
        .sort();
    assert.deepEqual(mounting('kurrentdb-ca'), ['kurrentdb-certs']);
    assert.deepEqual(mounting('kurrentdb-node-certs'), ['kurrentdb', 'kurrentdb-certs']);
    assert.equal(certs.network_mode, 'none');
    assert.match(
      (db.healthcheck?.test ?? []).join(' '),
      /--max-time \d+ --cacert .* https:\/\/localhost:2113\/health\/live/,
    );
  });

  it('connects the control plane as admin over TLS with the CA it mounts, and the URL parses', () => {
    const cp = services['control-plane']!;
    const url = cp.environment?.RF_EVENTSTORE ?? '';
    assert.match(url, /^esdb:\/\/admin:\$\{KURRENTDB_ADMIN_PASSWORD\}@kurrentdb:2113\?/);
    const config = parseEventStoreConfig({
      RF_EVENTSTORE: interpolate(url, { KURRENTDB_ADMIN_PASSWORD: 's3cret' }),
    });
    assert.equal(config.kind, 'esdb');
    assert.doesNotMatch(config.kind === 'esdb' ? config.redacted : '', /s3cret/);
    const query = new URLSearchParams(url.split('?')[1]);
    assert.equal(query.get('tls'), 'true');
    const ca = query.get('tlsCAFile') ?? '';
    assert.ok(
      (cp.volumes ?? []).some(
        (v) => v.startsWith('kurrentdb-ca-public:') && ca.startsWith(v.split(':')[1]! + '/'),
      ),
      `the CA file ${ca} is inside a mounted volume`,
    );
    assert.equal(cp.depends_on?.kurrentdb?.condition, 'service_healthy');
    assert.deepEqual(cp.ports, ['127.0.0.1:8080:8080']);
  });

  it('scavenges on a schedule, as the ops user, with a timeout on each request', () => {
    const s = services['kurrentdb-scavenge']!;
    const script = (s.command ?? []).join(' ');
    assert.match(script, /while true; do sleep "\$\$SCAVENGE_EVERY_S";/);
    assert.match(
      script,
      /curl -fsS --max-time \d+ --cacert \S+ -u "ops:\$\$KURRENTDB_OPS_PASSWORD" -X POST https:\/\/kurrentdb:2113\/admin\/scavenge/,
    );
    assert.match(s.environment?.SCAVENGE_EVERY_S ?? '', /^\$\{SCAVENGE_EVERY_S:-86400\}$/);
  });

  it('names in kurrentdb.env.example every variable the file requires', () => {
    const example = fs.readFileSync(path.join(deploy, 'kurrentdb.env.example'), 'utf8');
    const required = new Set([...text.matchAll(/\$\{([A-Z0-9_]+)(?::[-?][^}]*)?\}/g)].map((m) => m[1]!));
    for (const name of required) assert.match(example, new RegExp(`^${name}=`, 'm'), name);
  });
});
