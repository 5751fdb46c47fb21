/**
 * Paths inside a snapshot (docs/browse.md): absolute, `/`-separated, as restic
 * lists them. `normalizeSnapshotPath` turns user input into that form or
 * answers why not; no `.`/`..` segment, no NUL, at most 4096 characters.
 */
export function normalizeSnapshotPath(
  raw: string | undefined,
): { ok: true; path: string } | { ok: false; why: string } {
  const input = raw === undefined || raw === '' ? '/' : raw;
  if (input.length > 4096) return { ok: false, why: 'must be at most 4096 characters' };
  if (input.includes('\0')) return { ok: false, why: 'must not contain NUL' };
  if (!input.startsWith('/')) return { ok: false, why: 'must be absolute (start with /)' };
  const segments = input.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..'))
    return { ok: false, why: 'must not contain . or .. segments' };
  return { ok: true, path: '/' + segments.join('/') };
}

/** `/a/b` → `/a`; `/a` → `/`. */
export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** `/a/b` → `b`; `/` → ``. */
export function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** restic's Go file mode → Unix permission bits (setuid, setgid and sticky included). */
export function permissionBits(goMode: number): number {
  let bits = goMode & 0o777;
  if (goMode & (1 << 23)) bits |= 0o4000;
  if (goMode & (1 << 22)) bits |= 0o2000;
  if (goMode & (1 << 20)) bits |= 0o1000;
  return bits;
}
