import type { JobKind } from '@rf/events';

/*
 * Subjects: what an alert is about. One alert is open per (rule, subject), so
 * a subject names exactly the thing whose condition comes and goes.
 */

export const hostSubject = (hostId: string): string => `host:${hostId}`;
export const scheduleSubject = (hostId: string, scheduleId: string): string =>
  `host:${hostId}/schedule:${scheduleId}`;
/** A kind of job on a host and repository: a failed backup to one repository is not fixed by a backup to another. */
export const jobKindSubject = (hostId: string, kind: JobKind, repositoryId: string): string =>
  `host:${hostId}/kind:${kind}/repository:${repositoryId}`;
/** A repository, whichever hosts use it. */
export const repositorySubject = (repositoryId: string): string => `repository:${repositoryId}`;

/** One of a repository's maintenance schedules. */
export const repositoryScheduleSubject = (repositoryId: string, scheduleId: string): string =>
  `repository:${repositoryId}/schedule:${scheduleId}`;

/** The value of one `name:value` part of a subject (`schedule` of `host:h1/schedule:s1` is `s1`). */
export function subjectPart(
  subject: string,
  name: 'host' | 'schedule' | 'kind' | 'repository',
): string | undefined {
  for (const part of subject.split('/')) if (part.startsWith(`${name}:`)) return part.slice(name.length + 1);
  return undefined;
}
