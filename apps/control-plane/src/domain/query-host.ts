/** A host attached to a repository, as the read model lists it. */
export interface AttachedHost {
  readonly id: string;
  readonly hostname: string | null;
}

/**
 * The one rule for which agent answers a browse query (docs/browse.md, "Which
 * host answers"): among the repository's attached hosts that can answer now
 * (online, with the `queries` capability), the one that made the snapshot
 * (same hostname) when it is one of them; otherwise the first by id, so the
 * choice is stable. Null when no attached host can answer.
 */
export function chooseQueryHost(
  hosts: readonly AttachedHost[],
  canQuery: (hostId: string) => boolean,
  snapshotHostname: string | null,
): string | null {
  const able = hosts.filter((h) => canQuery(h.id)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (able.length === 0) return null;
  const maker = snapshotHostname === null ? undefined : able.find((h) => h.hostname === snapshotHostname);
  return (maker ?? able[0]!).id;
}
