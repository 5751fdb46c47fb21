/**
 * A `--require` preload that records every module file a process resolves and
 * writes the list (JSON array of absolute paths) to `$RF_MODULE_LOG` when the
 * process exits:
 *
 *   RF_MODULE_LOG=/tmp/x.json node --require dist/test/support/module-load.recorder.js <script>
 *
 * It sees CommonJS resolutions (`require`, including `require` of ES modules)
 * through the loader's resolver, and ES module imports through a resolve hook
 * registered with `module.register`. Not a spec file itself.
 */
import fs from 'node:fs';
import Module, { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread, MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

interface CjsResolver {
  _resolveFilename(request: string, ...rest: unknown[]): string;
}

// Node also runs preloads in the thread that hosts module hooks; record only in the main thread.
if (isMainThread) recordModuleLoads();

function recordModuleLoads(): void {
  const logFile = process.env['RF_MODULE_LOG'];
  if (!logFile) throw new Error('module-load.recorder: set RF_MODULE_LOG to the file to write');

  const seen = new Set<string>();
  const record = (resolved: string): void => {
    if (resolved.startsWith('file:')) seen.add(fileURLToPath(resolved));
    else if (resolved.startsWith('/')) seen.add(resolved);
  };

  const resolver = Module as unknown as CjsResolver;
  const resolveFilename = resolver._resolveFilename;
  resolver._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
    const resolved = resolveFilename.call(this, request, ...rest);
    record(resolved);
    return resolved;
  };

  const esmHooks = `
let port;
export async function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  port.postMessage(result.url);
  return result;
}`;
  const { port1, port2 } = new MessageChannel();
  port1.unref();
  register(`data:text/javascript,${encodeURIComponent(esmHooks)}`, {
    data: { port: port2 },
    transferList: [port2],
  });
  // Children of the recorded process are not recorded (and must not overwrite the log).
  delete process.env['RF_MODULE_LOG'];

  process.on('exit', () => {
    for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1)) {
      if (typeof m.message === 'string') record(m.message);
    }
    fs.writeFileSync(logFile, JSON.stringify([...seen].sort()));
  });
}
