// Loaded into `restic-fleet serve` with `node --require` by bench:fleet's
// `--probe` option: looks inside the control plane during one window of the
// run without changing the product. The bench sends SIGUSR2 to open the
// window and again to close it; on closing, this writes the event-loop delay
// seen in the window (loop-delay.json) and, with RF_BENCH_PROBE_CPU=1, a CPU
// profile of the window (serve.cpuprofile) into RF_BENCH_PROBE_DIR.
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const dir = process.env.RF_BENCH_PROBE_DIR;
if (dir) {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const session = process.env.RF_BENCH_PROBE_CPU === '1' ? new inspector.Session() : undefined;
  session?.connect();
  let open = false;
  const post = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!session) return resolve(undefined);
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result)));
    });
  const failed = (err: unknown): void => {
    process.stderr.write(`serve probe: ${err instanceof Error ? err.message : String(err)}\n`);
  };
  process.on('SIGUSR2', () => {
    if (!open) {
      open = true;
      delay.reset();
      delay.enable();
      post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 500 }))
        .then(() => post('Profiler.start'))
        .catch(failed);
      return;
    }
    open = false;
    delay.disable();
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    const figures = {
      p50_ms: ms(delay.percentile(50)),
      p90_ms: ms(delay.percentile(90)),
      p99_ms: ms(delay.percentile(99)),
      max_ms: ms(delay.max),
      mean_ms: ms(delay.mean),
    };
    post('Profiler.stop')
      .then((result) => {
        const profile = (result as { profile?: unknown } | undefined)?.profile;
        if (profile !== undefined)
          fs.writeFileSync(path.join(dir, 'serve.cpuprofile'), JSON.stringify(profile));
        fs.writeFileSync(path.join(dir, 'loop-delay.json'), JSON.stringify(figures));
      })
      .catch(failed);
  });
}
