import { StringDecoder } from 'node:string_decoder';

// CSI sequences restic writes to terminals-that-are-not (`\x1b[2K` clears a line).
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/**
 * Cuts a byte stream into lines as chunks arrive: `\n`, `\r\n` and a lone `\r`
 * (text progress rewrites its line) all end a line; ANSI escapes are removed;
 * blank lines are dropped; a partial line waits for its end; a line longer than
 * `maxLineChars` is cut there (the rest of it is discarded) so one endless line
 * cannot exhaust memory.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buf = '';
  private discarding = false;

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLineChars = 16 * 1024 * 1024,
  ) {}

  push(chunk: Buffer | string): void {
    this.feed(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
  }

  end(): void {
    this.feed(this.decoder.end());
    if (this.buf && !this.discarding) this.deliver(this.buf);
    this.buf = '';
    this.discarding = false;
  }

  private feed(text: string): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.append(text.slice(start, i));
      if (!this.discarding) this.deliver(this.buf);
      this.buf = '';
      this.discarding = false;
      // `\r\n` is one line end.
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.append(text.slice(start));
  }

  private append(part: string): void {
    if (this.discarding || !part) return;
    this.buf += part;
    if (this.buf.length > this.maxLineChars) {
      this.deliver(this.buf.slice(0, this.maxLineChars));
      this.buf = '';
      this.discarding = true;
    }
  }

  private deliver(raw: string): void {
    const line = raw.replace(ANSI, '');
    if (line.trim() !== '') this.emit(line);
  }
}
