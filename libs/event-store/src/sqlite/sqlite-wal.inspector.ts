import fs from 'node:fs';

/**
 * What SQLite will keep of a write-ahead log when it opens the database:
 * frames of the current generation (matching salts, valid running checksum)
 * up to the last commit frame. Anything of the current generation after that
 * — an unfinished transaction, a half-written frame — is discarded silently by
 * SQLite; we read the file first so the event log can say so.
 */
export interface WalInspection {
  /** Size of the -wal file in bytes (0 when there is none). */
  readonly fileBytes: number;
  readonly pageSize: number;
  /** Byte offset just after the last intact commit frame (32 = header only). */
  readonly committedEnd: number;
  /** Frames of the current generation after the last commit (unfinished or partly written). */
  readonly uncommittedFrames: number;
  /** Trailing bytes that do not make a whole frame (a frame cut off mid-write). */
  readonly partialFrameBytes: number;
}

const HEADER = 32;
const FRAME_HEADER = 24;

/** Inspects `<db>-wal` without opening the database; undefined when there is no usable WAL. */
export function inspectSqliteWal(walPath: string): WalInspection | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(walPath);
  } catch {
    return undefined;
  }
  if (buf.length < HEADER) return undefined;
  const magic = buf.readUInt32BE(0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) return undefined;
  const bigEndian = (magic & 1) === 1;
  const pageSize = buf.readUInt32BE(8) === 1 ? 65536 : buf.readUInt32BE(8);
  const salt1 = buf.readUInt32BE(16);
  const salt2 = buf.readUInt32BE(20);
  let [s0, s1] = checksum(buf, 0, 24, 0, 0, bigEndian);
  if (s0 !== buf.readUInt32BE(24) || s1 !== buf.readUInt32BE(28)) return undefined;

  const frameSize = FRAME_HEADER + pageSize;
  let offset = HEADER;
  let committedEnd = HEADER;
  let sinceCommit = 0;
  while (offset + frameSize <= buf.length) {
    if (buf.readUInt32BE(offset + 8) !== salt1 || buf.readUInt32BE(offset + 12) !== salt2) break;
    [s0, s1] = checksum(buf, offset, 8, s0, s1, bigEndian);
    [s0, s1] = checksum(buf, offset + FRAME_HEADER, pageSize, s0, s1, bigEndian);
    if (s0 !== buf.readUInt32BE(offset + 16) || s1 !== buf.readUInt32BE(offset + 20)) {
      // This generation's frame with a bad checksum: its page was only partly written.
      sinceCommit++;
      break;
    }
    offset += frameSize;
    sinceCommit++;
    if (buf.readUInt32BE(offset - frameSize + 4) !== 0) {
      committedEnd = offset;
      sinceCommit = 0;
    }
  }
  // A trailing fragment only counts when the frames before it are all valid: after a WAL reset the
  // file keeps older generations' frames, which are not damage.
  const fragment = buf.length - offset;
  const partialFrameBytes = fragment > 0 && fragment < frameSize ? fragment : 0;
  return { fileBytes: buf.length, pageSize, committedEnd, uncommittedFrames: sinceCommit, partialFrameBytes };
}

/** True when SQLite will drop part of the WAL on open: the last write was cut off. */
export function walHasTornTail(w: WalInspection | undefined): boolean {
  return w !== undefined && (w.uncommittedFrames > 0 || w.partialFrameBytes > 0);
}

// SQLite's WAL checksum: 32-bit words pairwise, running sums carried from frame to frame.
function checksum(
  buf: Buffer,
  start: number,
  length: number,
  s0: number,
  s1: number,
  bigEndian: boolean,
): [number, number] {
  let a = s0;
  let b = s1;
  for (let i = start; i < start + length; i += 8) {
    const x0 = bigEndian ? buf.readUInt32BE(i) : buf.readUInt32LE(i);
    const x1 = bigEndian ? buf.readUInt32BE(i + 4) : buf.readUInt32LE(i + 4);
    a = (a + x0 + b) >>> 0;
    b = (b + x1 + a) >>> 0;
  }
  return [a, b];
}
