import { optStr } from './json-fields';
import { tryJsonObject } from './restic-line.parser';

export interface InitReport {
  /** Repository id: 10 chars in 0.14 text, 64 in 0.18+ JSON. */
  repositoryId: string | undefined;
  /** As restic prints it (passwords masked by restic). */
  repository: string | undefined;
}

const CREATED = /created restic repository ([0-9a-f]+) at (.+)$/;

/** `init --json`: `initialized` JSON (0.17+) or text (0.14 ignores --json). */
export function parseInitOutput(stdout: readonly string[]): InitReport {
  for (const line of stdout) {
    const v = tryJsonObject(line);
    if (v && optStr(v, 'message_type') === 'initialized') {
      return { repositoryId: optStr(v, 'id'), repository: optStr(v, 'repository') };
    }
    const m = CREATED.exec(line.trim());
    if (m) return { repositoryId: m[1], repository: m[2] };
  }
  return { repositoryId: undefined, repository: undefined };
}
