import type { OutboxLogger } from './outbox.repository';

export interface LogRecord {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

/** An outbox logger that keeps what it was told, for assertions. */
export function memoryLogger(): OutboxLogger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  return {
    records,
    info: (obj, msg) => void records.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => void records.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => void records.push({ level: 'error', obj, msg }),
  };
}
