import type { JobKind } from '@rf/events';

/*
 * Subjects: what an alert is about. One alert is open per (rule, subject), so
 * a subject names exactly the thing whose condition comes and goes.
 * A host's repository is the host's own until repositories are shared (docs/alerts.md).
 */

export const hostSubject = (hostId: string): string => `host:${hostId}`;
export const scheduleSubject = (hostId: string, scheduleId: string): string =>
  `host:${hostId}/schedule:${scheduleId}`;
export const jobKindSubject = (hostId: string, kind: JobKind): string => `host:${hostId}/kind:${kind}`;
export const repositorySubject = (hostId: string): string => `host:${hostId}/repository`;

/** The value of one `name:value` part of a subject (`schedule` of `host:h1/schedule:s1` is `s1`). */
export function subjectPart(subject: string, name: 'host' | 'schedule' | 'kind'): string | undefined {
  for (const part of subject.split('/')) if (part.startsWith(`${name}:`)) return part.slice(name.length + 1);
  return undefined;
}
