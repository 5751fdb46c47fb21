import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../core/app-error';
import { RepositoryDefinitionDto } from '../dtos/repository.dtos';
import {
  channelFromForm,
  dtoFieldErrors,
  fieldErrors,
  jobArgsFromForm,
  jobFieldName,
  ruleSettingFromForm,
  scheduleFieldOf,
  schedulesFromForm,
  urlForDraft,
} from './ui-forms';
import { fieldMessage } from './ui-format';
import { jsonForScript, safeNext } from './ui-html';

describe('ui-forms', () => {
  it('reads a channel form: empty fields (a kept secret) left out, ports as numbers, recipients as a list', () => {
    const { input, typed } = channelFromForm(
      {
        kind: 'email',
        name: ' ops mail ',
        settings: {
          host: 'smtp.example.com',
          port: '587',
          security: 'starttls',
          password: '',
          to: 'a@x.io, b@x.io',
        },
        routing: { min_severity: 'error', rules: 'job_failed', hosts: ['h1', 'h2'], reminder_hours: '' },
      },
      { host: 'host', port: 'port', security: 'security', password: 'token', from: 'email', to: 'emails' },
    );
    assert.deepEqual(input, {
      kind: 'email',
      name: 'ops mail',
      settings: { host: 'smtp.example.com', port: 587, security: 'starttls', to: ['a@x.io', 'b@x.io'] },
      routing: { min_severity: 'error', rules: ['job_failed'], hosts: ['h1', 'h2'] },
    });
    assert.equal(typed['port'], '587');
    assert.equal(
      channelFromForm({ kind: 'slack', name: 'x', settings: { url: 'u' } }, { url: 'url' }).input.routing,
      undefined,
    );
  });

  it('reads a rule setting: empty means the default, minutes become seconds, a bad threshold is named', () => {
    assert.deepEqual(ruleSettingFromForm({ enabled: '', severity: '', threshold_min: '' }), {
      setting: {},
      error: null,
    });
    assert.deepEqual(ruleSettingFromForm({ enabled: 'off', severity: 'error', threshold_min: '30' }), {
      setting: { enabled: false, severity: 'error', threshold_s: 1800 },
      error: null,
    });
    assert.match(ruleSettingFromForm({ threshold_min: '0' }).error ?? '', /whole minutes from 1/);
    assert.match(ruleSettingFromForm({ threshold_min: '1.5' }).error ?? '', /whole minutes/);
  });

  it('shows a validation message next to its field without the field path', () => {
    assert.equal(fieldMessage('settings.url', 'settings.url must be a URL'), 'must be a URL');
    assert.equal(fieldMessage('name', 'something else'), 'something else');
  });

  it('builds backup args from the run form: paths per line, tags by comma', () => {
    assert.deepEqual(jobArgsFromForm('backup', { paths: ' /srv \r\n\n/etc ', excludes: '', tags: 'a, b,' }), {
      paths: ['/srv', '/etc'],
      tags: ['a', 'b'],
    });
  });

  it('builds a forget policy and passes non-numbers through for validation to name', () => {
    assert.deepEqual(jobArgsFromForm('forget', { keep_daily: '7', keep_last: 'x', prune: 'on' }), {
      policy: { keep_daily: 7, keep_last: 'x' },
      prune: true,
    });
    assert.deepEqual(jobArgsFromForm('restore', { snapshot_id: 'abc', target: '/tmp/r' }), {
      snapshot_id: 'abc',
      target: '/tmp/r',
    });
    assert.deepEqual(
      jobArgsFromForm('restore', {
        snapshot_id: 'abc',
        target: '/tmp/r',
        overwrite: 'if-newer',
        dry_run: 'on',
      }),
      { snapshot_id: 'abc', target: '/tmp/r', overwrite: 'if-newer', dry_run: true },
    );
    assert.deepEqual(
      jobArgsFromForm('restore', {
        snapshot_id: 'abc',
        target: '/tmp/r',
        include: '/srv/a\r\n\n/srv/b',
        exclude: '*.tmp',
      }),
      { snapshot_id: 'abc', target: '/tmp/r', include: ['/srv/a', '/srv/b'], exclude: ['*.tmp'] },
    );
  });

  it('reads the schedule editor rows, skipping removed rows and a blank new row', () => {
    const { schedules, rowOf } = schedulesFromForm({
      s: [
        { id: 'old', kind: 'backup', cron: '0 1 * * *', remove: 'on' },
        { id: 'nightly', kind: 'backup', cron: '0 2 * * *', enabled: 'on', paths: '/srv', keep_daily: '7' },
        { new: '1', id: '', cron: '', kind: 'backup', enabled: 'on' },
      ],
    });
    assert.deepEqual(schedules, [
      {
        id: 'nightly',
        kind: 'backup',
        cron: '0 2 * * *',
        enabled: true,
        paths: ['/srv'],
        retention: { keep_daily: 7 },
      },
    ]);
    assert.deepEqual(rowOf, [1]);
    assert.deepEqual(scheduleFieldOf('schedules.0.retention.keep_daily', rowOf), {
      row: 1,
      field: 'keep_daily',
    });
    assert.deepEqual(scheduleFieldOf('schedules.0.cron', rowOf), { row: 1, field: 'cron' });
    assert.deepEqual(scheduleFieldOf('schedules', rowOf), { row: null, field: 'schedules' });
  });

  it('keeps the repository a schedule row picks, and leaves it out when none is picked', () => {
    const { schedules } = schedulesFromForm({
      s: [
        { id: 'a', kind: 'backup', cron: '0 2 * * *', repository_id: ' r-offsite ' },
        { id: 'b', kind: 'check', cron: '0 3 * * *', repository_id: '' },
      ],
    });
    assert.equal(schedules[0]?.['repository_id'], 'r-offsite');
    assert.equal('repository_id' in (schedules[1] ?? {}), false);
  });

  it('never shows a refused URL with a password in it again', () => {
    assert.equal(urlForDraft('rest:https://user:s3cret@backup.example:8000/x'), '');
    assert.equal(urlForDraft('sftp:backup@nas:/srv/restic'), 'sftp:backup@nas:/srv/restic');
  });

  it('checks a form against the REST route’s DTO, naming each bad field', () => {
    assert.deepEqual(dtoFieldErrors(RepositoryDefinitionDto, { name: 'offsite', url: '/srv/restic' }), {});
    const errors = dtoFieldErrors(RepositoryDefinitionDto, { name: '', url: 'x'.repeat(2049) });
    assert.deepEqual(Object.keys(errors).sort(), ['name', 'url']);
    assert.match(errors['name']?.join(' ') ?? '', /name should not be empty/);
    assert.match(errors['url']?.join(' ') ?? '', /url must be shorter than or equal to 2048 characters/);
  });

  it('turns coded errors into messages per form field', () => {
    const err = new AppError('invalid_input', 'bad', {
      field: 'args.paths',
      fields: { 'args.paths.0': ['must be a path'] },
    });
    assert.deepEqual(fieldErrors(err, jobFieldName), { paths: ['must be a path'] });
    assert.deepEqual(fieldErrors(new AppError('conflict', 'host is revoked')), {
      _form: ['host is revoked'],
    });
    assert.equal(jobFieldName('args.policy.keep_daily'), 'keep_daily');
  });

  it('keeps embedded JSON and return paths safe', () => {
    assert.equal(jsonForScript({ a: '</script><!--' }), '{"a":"\\u003c/script\\u003e\\u003c!--"}');
    assert.equal(safeNext('/hosts/a?x=1'), '/hosts/a?x=1');
    assert.equal(safeNext('//evil.example'), '/');
    assert.equal(safeNext('https://evil.example'), '/');
    assert.equal(safeNext('/login'), '/');
    assert.equal(safeNext(undefined), '/');
  });
});
