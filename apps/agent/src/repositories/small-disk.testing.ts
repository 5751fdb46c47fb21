import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WriteSync } from './state-file.repository';

const PAGE = 4096;

/**
 * A directory on a disk that can be filled up, for disk-full tests.
 *
 * As root (where mounting is allowed) it is a real tmpfs of `sizeBytes`
 * mounted on a temp dir: writes really stop short and then fail with ENOSPC.
 * Elsewhere it is a plain temp dir plus a `write` function with the same
 * behaviour over a byte budget, to be passed to the code under test at its
 * write boundary. `kind` tells which one a test ran on.
 */
export class SmallDisk {
  private budget = Number.POSITIVE_INFINITY;
  private readonly filler: string;

  private constructor(
    readonly dir: string,
    readonly kind: 'tmpfs' | 'injected',
  ) {
    this.filler = path.join(dir, 'filler.bin');
  }

  static open(sizeBytes = 512 * 1024): SmallDisk {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-small-disk-'));
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir], {
      encoding: 'utf8',
    });
    return new SmallDisk(dir, r.status === 0 ? 'tmpfs' : 'injected');
  }

  /** For the code under test: undefined on a real tmpfs (the system write is the real thing). */
  get write(): WriteSync | undefined {
    if (this.kind === 'tmpfs') return undefined;
    return (fd, buffer, offset, length) => {
      if (this.budget <= 0)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = Math.min(length, this.budget);
      const written = fs.writeSync(fd, buffer, offset, n);
      this.budget -= written;
      return written;
    };
  }

  /** Fills the disk so that little more than `leaveBytes` (rounded up to whole pages on tmpfs) can still be written. */
  fillLeaving(leaveBytes: number): void {
    if (this.kind === 'injected') {
      this.budget = leaveBytes;
      return;
    }
    const fd = fs.openSync(this.filler, 'a');
    const block = Buffer.alloc(64 * 1024, 0x78);
    try {
      for (;;) fs.writeSync(fd, block);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      fs.closeSync(fd);
    }
    const size = fs.statSync(this.filler).size;
    const free = Math.ceil(leaveBytes / PAGE) * PAGE;
    fs.truncateSync(this.filler, Math.max(0, Math.floor(size / PAGE) * PAGE - free));
  }

  /** Makes room again. */
  freeAll(): void {
    this.budget = Number.POSITIVE_INFINITY;
    fs.rmSync(this.filler, { force: true });
  }

  dispose(): void {
    if (this.kind === 'tmpfs') spawnSync('umount', [this.dir]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
