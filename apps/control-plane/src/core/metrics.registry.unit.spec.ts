import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry } from './metrics.registry';

describe('MetricsRegistry', () => {
  it('stamps the node label on counters, histograms and gauges', async () => {
    const m = new MetricsRegistry({ nodeId: 'cp-a' });
    m.counter('t_things_total', 'things')(3);
    m.histogram('t_wait_seconds', 'wait', [0.1, 1])(0.5);
    m.gauge('t_level', 'level', () => 7);
    const text = await m.render();
    assert.match(text, /^t_things_total\{node="cp-a"\} 3$/m);
    assert.match(text, /^t_wait_seconds_bucket\{le="0.1",node="cp-a"\} 0$/m);
    assert.match(text, /^t_wait_seconds_bucket\{le="1",node="cp-a"\} 1$/m);
    assert.match(text, /^t_wait_seconds_count\{node="cp-a"\} 1$/m);
    assert.match(text, /^t_level\{node="cp-a"\} 7$/m);
  });

  it('reads labelled gauges at scrape time and drops rows the source no longer returns', async () => {
    const m = new MetricsRegistry();
    let rows = [
      { labels: { status: 'running' }, value: 2 },
      { labels: { status: 'queued' }, value: 1 },
    ];
    m.gauge('t_jobs', 'jobs', () => rows, ['status']);
    assert.match(await m.render(), /^t_jobs\{status="queued"\} 1$/m);
    rows = [{ labels: { status: 'running' }, value: 5 }];
    const text = await m.render();
    assert.match(text, /^t_jobs\{status="running"\} 5$/m);
    assert.doesNotMatch(text, /status="queued"/);
  });

  it('keeps one series when a service registers its counter twice, and refuses a type clash', async () => {
    const m = new MetricsRegistry();
    m.counter('t_events_total', 'events')(2);
    m.counter('t_events_total', 'events')(5);
    assert.match(await m.render(), /^t_events_total 7$/m);
    assert.throws(() => m.histogram('t_events_total', 'events'), /already registered with another type/);
  });

  it('reads a gauge whose source throws as reset, and the rest of the scrape still renders', async () => {
    const m = new MetricsRegistry();
    let broken = false;
    m.gauge('t_broken', 'broken', () => {
      if (broken) throw new Error('source gone');
      return 4;
    });
    m.gauge(
      't_broken_rows',
      'broken rows',
      () => {
        if (broken) throw new Error('source gone');
        return [{ labels: { kind: 'a' }, value: 4 }];
      },
      ['kind'],
    );
    assert.match(await m.render(), /^t_broken_rows\{kind="a"\} 4$/m);
    broken = true;
    m.counter('t_ok_total', 'ok')();
    const text = await m.render();
    assert.match(text, /^t_ok_total 1$/m);
    assert.match(text, /^t_broken 0$/m);
    assert.doesNotMatch(text, /^t_broken_rows\{/m);
  });
});
