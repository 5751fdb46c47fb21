import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processStopper, windowsCtrlCScript } from './process-stopper';

function recorder() {
  const runs: Array<{ file: string; args: readonly string[]; timeoutMs: number }> = [];
  return {
    runs,
    run: (file: string, args: readonly string[], timeoutMs: number) =>
      void runs.push({ file, args, timeoutMs }),
  };
}

describe('processStopper on Windows', () => {
  it('interrupts with Ctrl+C raised on the console of that process only, through an encoded PowerShell command', () => {
    const r = recorder();
    processStopper('win32', r.run).interrupt(4242);
    assert.equal(r.runs.length, 1);
    const [run] = r.runs;
    assert.equal(run!.file, 'powershell.exe');
    assert.deepEqual(run!.args.slice(0, 5), [
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-EncodedCommand',
    ]);
    const script = Buffer.from(run!.args[5]!, 'base64').toString('utf16le');
    assert.equal(script, windowsCtrlCScript(4242));
    const order = [
      'FreeConsole()',
      'AttachConsole(4242)',
      'SetConsoleCtrlHandler([System.IntPtr]::Zero, $true)',
      'GenerateConsoleCtrlEvent(0, 0)',
    ];
    const at = order.map((needle) => script.lastIndexOf(needle));
    assert.ok(
      at.every((i) => i >= 0),
      script,
    );
    assert.deepEqual(
      [...at].sort((a, b) => a - b),
      at,
      'leave own console, attach, ignore it ourselves, raise Ctrl+C',
    );
    assert.ok(run!.timeoutMs > 0, 'the helper is bounded');
  });

  it('kills the whole tree with taskkill /T /F', () => {
    const r = recorder();
    processStopper('win32', r.run).kill(77);
    assert.deepEqual(
      r.runs.map((x) => [x.file, ...x.args]),
      [['taskkill.exe', '/PID', '77', '/T', '/F']],
    );
  });

  it('refuses anything that is not a process id (the script embeds it)', () => {
    for (const bad of [0, -1, 1.5, Number.NaN])
      assert.throws(() => windowsCtrlCScript(bad), /not a process id/);
  });

  it('uses signals, not helpers, elsewhere', () => {
    const r = recorder();
    const stopper = processStopper('linux', r.run);
    // A pid that cannot exist: the stopper must treat "no such process" as already stopped.
    stopper.interrupt(2 ** 22 + 12345);
    stopper.kill(2 ** 22 + 12345);
    assert.equal(r.runs.length, 0);
  });
});
