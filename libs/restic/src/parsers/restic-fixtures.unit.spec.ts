// Every parser over every recorded fixture (libs/restic/fixtures/<version>/, recorded
// from real restic by scripts/record-restic-fixtures.js). The facts asserted come
// from the recorded dataset (four source files, three snapshots in the main repo,
// three in the retention repo with the last one tagged "keep") and from the
// cross-checks between scenarios (ids in one output found in another).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LineSplitter } from '../process/line-splitter';
import { classifyOutcome } from '../restic-outcome';
import { parseVersionOutput, versionAtLeast, ResticVersion } from '../restic-version';
import { resticFixturesDir } from '../restic.testing';
import { sameSnapshotId } from './json-fields';
import { parseBackupLine, parseBackupOutput } from './restic-backup.parser';
import { parseCheckOutput } from './restic-check.parser';
import { parseForgetOutput } from './restic-forget.parser';
import { parseInitOutput } from './restic-init.parser';
import { parseLsOutput } from './restic-ls.parser';
import { parsePruneText, parseUnlockOutput } from './restic-maintenance.parser';
import { progressFromStatus } from './restic-progress';
import { parseRestoreOutput } from './restic-restore.parser';
import { parseSnapshotGroups, parseSnapshots } from './restic-snapshots.parser';
import { parseStatsOutput } from './restic-stats.parser';
import { parseResticLine } from './restic-line.parser';

interface Fixture {
  stdout: string[];
  stderr: string[];
  meta: {
    argv: string[];
    env: string[];
    exit_code: number | null;
    signal: string | null;
    restic_version: string;
  };
}

const SECRETS = ['fixture-password-7f3a', 'not-the-password', 'rest-secret-91c2'];
const root = resticFixturesDir();
const versions = fs
  .readdirSync(root)
  .filter((d) => /^\d+\.\d+\.\d+$/.test(d))
  .sort();

function lines(text: string): string[] {
  const out: string[] = [];
  const splitter = new LineSplitter((l) => out.push(l));
  splitter.push(Buffer.from(text, 'utf8'));
  splitter.end();
  return out;
}

function load(version: string, scenario: string): Fixture {
  const base = path.join(root, version, scenario);
  return {
    stdout: lines(fs.readFileSync(`${base}.stdout`, 'utf8')),
    stderr: lines(fs.readFileSync(`${base}.stderr`, 'utf8')),
    meta: JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as Fixture['meta'],
  };
}

function classify(f: Fixture, command: string, version: ResticVersion, cancelled = false) {
  return classifyOutcome({
    command,
    exitCode: f.meta.exit_code,
    signal: f.meta.signal,
    stderrLines: f.stderr,
    stdoutLines: f.stdout,
    version,
    cancelled,
  });
}

describe('recorded restic fixtures', () => {
  it('exist for 0.14 and at least one 0.18+ build', () => {
    assert.ok(versions.includes('0.14.0'), `have ${versions.join(', ')}`);
    assert.ok(versions.some((v) => v.startsWith('0.19.') || v.startsWith('0.18.')));
  });

  for (const v of versions) {
    const version = parseVersionOutput(`restic ${v}`) as ResticVersion;
    const work = `/tmp/rf-fixtures-${v}`;
    const newIds = versionAtLeast(version, 0, 17);

    describe(`restic ${v}`, () => {
      it('never holds a secret in output or argv, and every line parses', () => {
        const files = fs.readdirSync(path.join(root, v));
        assert.ok(files.length >= 60, `only ${files.length} files`);
        for (const file of files) {
          const text = fs.readFileSync(path.join(root, v, file), 'utf8');
          for (const s of SECRETS) assert.ok(!text.includes(s), `${file} contains a secret`);
          for (const line of lines(text)) {
            assert.ok(parseResticLine(line).kind);
            assert.ok(parseBackupLine(line).type);
          }
        }
      });

      it('version: text and --json name the folder version', () => {
        assert.equal(parseVersionOutput(load(v, 'version').stdout.join('\n'))?.raw.includes(v), true);
        if (newIds) {
          const json = parseVersionOutput(load(v, 'version-json').stdout.join('\n'));
          assert.deepEqual([json?.major, json?.minor, json?.patch], v.split('.').map(Number));
        }
      });

      it('init: new repository id and location; existing repository is repo_exists', () => {
        const f = load(v, 'init-new');
        const init = parseInitOutput(f.stdout);
        assert.match(init.repositoryId ?? '', newIds ? /^[0-9a-f]{64}$/ : /^[0-9a-f]{10}$/);
        assert.equal(init.repository, `${work}/repo`);
        assert.equal(classify(f, 'init', version).code, 'ok');
        const again = classify(load(v, 'init-exists'), 'init', version);
        assert.deepEqual([again.status, again.code, again.exitCode], ['failed', 'repo_exists', 1]);
        assert.doesNotMatch(again.message, /Fatal: Fatal:/);
      });

      it('backup success: summary with the four source files and a snapshot id found in `snapshots`', () => {
        const f = load(v, 'backup-success');
        const report = parseBackupOutput(f.stdout, f.stderr);
        assert.ok(report.summary);
        assert.equal(report.summary.totalFilesProcessed, 4);
        assert.equal(report.summary.filesNew, 4);
        assert.equal(report.summary.snapshotId.length, newIds ? 64 : 8);
        assert.equal(report.summary.dataAddedPacked > 0, newIds);
        assert.deepEqual(report.errors, []);
        const snaps = parseSnapshots(load(v, 'snapshots').stdout);
        const mine = snaps.find((s) => sameSnapshotId(s.id, report.summary?.snapshotId ?? ''));
        assert.ok(mine, 'backup snapshot listed');
        assert.deepEqual(mine.tags, ['daily']);
        assert.equal(classify(f, 'backup', version).status, 'succeeded');
      });

      it('backup -vv: verbose lines (0.14 scan_finished typed status) are not status lines', () => {
        const f = load(v, 'backup-verbose');
        const parsed = f.stdout.map(parseBackupLine);
        const verbose = parsed.flatMap((p) => (p.type === 'verbose_status' ? [p.verbose] : []));
        assert.ok(verbose.some((x) => x.action === 'scan_finished'));
        assert.ok(verbose.some((x) => x.item.endsWith('/docs/changed.txt') && x.action === 'new'));
        assert.ok(parsed.some((p) => p.type === 'summary'));
        for (const p of parsed) if (p.type === 'status') assert.equal(p.status.totalFiles >= 0, true);
      });

      it('backup with one missing path: skipped path reported, warning in every version', () => {
        const f = load(v, 'backup-missing-one');
        const report = parseBackupOutput(f.stdout, f.stderr);
        assert.deepEqual(report.skippedPaths, [`${work}/missing-path`]);
        assert.ok(report.summary?.snapshotId);
        assert.equal(f.meta.exit_code, versionAtLeast(version, 0, 19) ? 3 : 0);
        const o = classify(f, 'backup', version);
        assert.deepEqual([o.status, o.code], ['warning', 'partial']);
      });

      it("backup with all paths missing: no summary, failed with restic's reason", () => {
        const f = load(v, 'backup-missing-all');
        const report = parseBackupOutput(f.stdout, f.stderr);
        assert.equal(report.summary, undefined);
        assert.equal(report.skippedPaths.length, 2);
        const o = classify(f, 'backup', version);
        assert.deepEqual([o.status, o.code, o.exitCode], ['failed', 'fatal', 1]);
        assert.match(o.message, /do not exist/);
      });

      it('backup with an unreadable file: one item error in either shape, snapshot saved, exit 3 warning', () => {
        const f = load(v, 'backup-unreadable');
        const report = parseBackupOutput(f.stdout, f.stderr);
        assert.equal(report.errors.length, 1);
        assert.deepEqual(report.errors[0], {
          message: `open ${work}/usrc/unreadable.txt: permission denied`,
          during: 'archival',
          item: `${work}/usrc/unreadable.txt`,
        });
        assert.equal(report.summary?.totalFilesProcessed, 1);
        if (newIds) assert.equal(report.exitError?.code, 3);
        const o = classify(f, 'backup', version);
        assert.deepEqual([o.status, o.code, o.exitCode], ['warning', 'partial', 3]);
      });

      it('snapshots: three snapshots, summaries only from 0.17; empty repo gives none', () => {
        const snaps = parseSnapshots(load(v, 'snapshots').stdout);
        assert.equal(snaps.length, 3);
        for (const s of snaps) {
          assert.match(s.id, /^[0-9a-f]{64}$/);
          assert.equal(s.shortId, s.id.slice(0, 8));
          assert.equal(s.hostname.length > 0, true);
          assert.equal(s.summary !== undefined, newIds);
          assert.equal(s.programVersion?.includes(v) ?? false, newIds);
        }
        assert.deepEqual(parseSnapshots(load(v, 'snapshots-empty').stdout), []);
      });

      it('snapshots --group-by host,paths: two groups holding the same three snapshots', () => {
        const groups = parseSnapshotGroups(load(v, 'snapshots-group-by').stdout);
        assert.equal(groups.length, 2);
        const paths = groups.map((g) => g.groupKey.paths.join(',')).sort();
        assert.deepEqual(paths, [`${work}/src`, `${work}/src/docs`]);
        const flat = parseSnapshots(load(v, 'snapshots').stdout)
          .map((s) => s.id)
          .sort();
        assert.deepEqual(groups.flatMap((g) => g.snapshots.map((s) => s.id)).sort(), flat);
      });

      it('stats: restore-size and raw-data; compression fields from 0.17', () => {
        const rs = parseStatsOutput(load(v, 'stats-restore-size').stdout);
        assert.equal(rs?.snapshotsCount, 3);
        assert.ok((rs?.totalFileCount ?? 0) > 0 && (rs?.totalSize ?? 0) > 0);
        const raw = parseStatsOutput(load(v, 'stats-raw-data').stdout);
        assert.equal(raw?.snapshotsCount, 3);
        assert.ok((raw?.totalBlobCount ?? 0) > 0);
        assert.equal(raw?.compressionRatio !== undefined, newIds);
      });

      it('ls: the latest snapshot, then nodes including readme.txt (26 bytes)', () => {
        const report = parseLsOutput(load(v, 'ls').stdout);
        const snaps = parseSnapshots(load(v, 'snapshots').stdout);
        const latest = [...snaps].sort((a, b) => a.time.localeCompare(b.time)).at(-1);
        assert.equal(report.snapshot?.id, latest?.id);
        const readme = report.nodes.find((n) => n.path === `${work}/src/docs/readme.txt`);
        assert.equal(readme?.type, 'file');
        assert.equal(readme?.size, 26);
        assert.equal(readme?.inode !== undefined, newIds);
      });

      it('check: clean repository', () => {
        const f = load(v, 'check-ok');
        const report = parseCheckOutput(f.stdout, f.stderr);
        assert.deepEqual([report.clean, report.numErrors], [true, 0]);
        assert.equal(classify(f, 'check', version).code, 'ok');
      });

      it('restore: 0.14 text names the snapshot and target; 0.18+ summary counts bytes', () => {
        const f = load(v, 'restore');
        const report = parseRestoreOutput(f.stdout, f.stderr);
        assert.deepEqual(report.errors, []);
        if (versionAtLeast(version, 0, 18)) {
          assert.ok(report.summary && report.summary.filesRestored > 0);
          assert.equal(report.summary.bytesRestored, report.summary.totalBytes);
        } else {
          const latest = parseLsOutput(load(v, 'ls').stdout).snapshot;
          assert.equal(report.snapshotShortId, latest?.shortId);
          assert.equal(report.target, `${work}/restored`);
        }
        assert.equal(classify(f, 'restore', version).code, 'ok');
      });

      it('check on a damaged pack: errors reported in text (0.14) or error/summary JSON (0.18+)', () => {
        const f = load(v, 'check-corrupt');
        const report = parseCheckOutput(f.stdout, f.stderr);
        assert.equal(report.clean, false);
        assert.ok(report.numErrors >= 1);
        assert.ok(
          report.errors.some((e) => /pack/i.test(e)),
          report.errors.join('|'),
        );
        if (versionAtLeast(version, 0, 18)) assert.equal(report.brokenPacks.length, 1);
        const o = classify(f, 'check', version);
        assert.deepEqual([o.status, o.code, o.exitCode], ['failed', 'fatal', 1]);
        assert.match(o.message, /found damage/);
      });

      it('restore that cannot write: item errors in either form, failed', () => {
        const f = load(v, 'restore-errors');
        const report = parseRestoreOutput(f.stdout, f.stderr);
        assert.equal(report.errors.length, 4);
        for (const e of report.errors) {
          assert.ok([`${work}/rsrc/one.txt`, `${work}/rsrc/two.txt`].includes(e.item), e.item);
          assert.equal(e.during, 'restore');
          assert.ok(e.message.length > 0);
        }
        if (!versionAtLeast(version, 0, 18)) assert.equal(report.reportedErrorCount, 4);
        else assert.equal(report.exitError?.message, 'Fatal: There were 4 errors');
        const o = classify(f, 'restore', version);
        assert.deepEqual([o.status, o.code], ['failed', 'fatal']);
        assert.match(o.message, /There were 4 errors/);
      });

      it('forget: keep-last 1 + keep-tag keeps the tagged snapshot with both reasons, removes two', () => {
        const report = parseForgetOutput(load(v, 'forget-policy').stdout);
        assert.equal(report.groups.length, 1);
        const g = report.groups[0];
        assert.deepEqual(g.paths, [`${work}/src`]);
        assert.deepEqual(
          g.keep.map((s) => s.tags),
          [['keep']],
        );
        assert.equal(g.remove.length, 2);
        assert.deepEqual(report.removedIds.length, 2);
        assert.equal(g.reasons.length, 1);
        assert.equal(g.reasons[0].snapshotId, g.keep[0].id);
        assert.deepEqual([...g.reasons[0].matches].sort(), ['has tags [keep]', 'last snapshot']);
      });

      it('forget --prune: JSON then prune text (0.14, 0.18) or JSON only (0.19)', () => {
        const report = parseForgetOutput(load(v, 'forget-prune').stdout);
        assert.equal(report.keptIds.length, 1);
        assert.ok(report.removedIds.length >= 1);
        if (versionAtLeast(version, 0, 19)) assert.deepEqual(report.pruneText, []);
        else assert.equal(parsePruneText(report.pruneText).done, true);
      });

      it('prune: text summary', () => {
        const report = parsePruneText(load(v, 'prune').stdout);
        assert.equal(report.done, true);
        assert.match(report.remaining ?? '', /blobs/);
        assert.match(report.totalPrune ?? '', /blobs/);
      });

      it('wrong password, missing repository, locked repository: named failures (rc 1 text or 10/11/12)', () => {
        const wrong = classify(load(v, 'wrong-password'), 'snapshots', version);
        assert.deepEqual([wrong.code, wrong.exitCode], ['wrong_password', newIds ? 12 : 1]);
        const missing = classify(load(v, 'repo-missing'), 'snapshots', version);
        assert.deepEqual([missing.code, missing.exitCode], ['repo_missing', newIds ? 10 : 1]);
        const locked = classify(load(v, 'locked'), 'forget', version);
        assert.deepEqual(
          [locked.status, locked.code, locked.exitCode],
          ['failed', 'locked', newIds ? 11 : 1],
        );
        assert.match(locked.message, /run an Unlock job/);
        assert.match(locked.message, /already locked/);
      });

      it('check on a locked repository: locked, and 0.18+ summary num_errors 1 is not corruption', () => {
        const f = load(v, 'check-locked');
        const o = classify(f, 'check', version);
        assert.equal(o.code, 'locked');
        const report = parseCheckOutput(f.stdout, f.stderr);
        assert.equal(report.clean, false);
        if (newIds) assert.deepEqual([report.numErrors, report.exitError?.code], [1, 11]);
      });

      for (const scenario of ['backup-sigint', 'backup-sigterm']) {
        it(`${scenario}: no summary, progress from status lines, cancelled with or without our flag`, () => {
          const f = load(v, scenario);
          const report = parseBackupOutput(f.stdout, f.stderr);
          assert.equal(report.summary, undefined);
          const statuses = f.stdout.flatMap((l) => {
            const p = parseBackupLine(l);
            return p.type === 'status' ? [p.status] : [];
          });
          assert.ok(statuses.length >= 2, `${statuses.length} status lines`);
          const last = statuses[statuses.length - 1];
          const progress = progressFromStatus(last, 10_000, 10_000 - 1500);
          assert.ok(progress.percentDone > 0 && progress.percentDone < 1);
          assert.equal(progress.totalFiles, 6);
          assert.ok(progress.bytesDone > 0 && progress.throughputBps > 0);
          assert.equal(classify(f, 'backup', version, true).status, 'cancelled');
          assert.equal(classify(f, 'backup', version, false).status, 'cancelled');
        });
      }

      it('unlock after SIGTERM: 0.14 removed the stale lock it left; 0.18+ left none', () => {
        const f = load(v, 'unlock');
        assert.equal(parseUnlockOutput(f.stdout).removedLocks, !versionAtLeast(version, 0, 18));
        assert.equal(classify(f, 'unlock', version).code, 'ok');
      });

      it('REST via rclone: init and backup succeed, masked URL; wrong credential is auth_failed', () => {
        const init = load(v, 'rest-init');
        const repoText = parseInitOutput(init.stdout).repository ?? '';
        assert.match(repoText, /^rest:http:\/\/.*127\.0\.0\.1:\d+\/$/);
        if (!newIds) assert.match(repoText, /alice:\*\*\*@/);
        assert.ok(init.meta.env.includes(newIds ? 'RESTIC_REST_PASSWORD' : 'RESTIC_REPOSITORY'));
        assert.ok(parseBackupOutput(load(v, 'rest-backup').stdout, []).summary?.snapshotId);
        const denied = classify(load(v, 'rest-auth-failed'), 'snapshots', version);
        assert.deepEqual([denied.status, denied.code, denied.exitCode], ['failed', 'auth_failed', 1]);
      });
    });
  }
});
