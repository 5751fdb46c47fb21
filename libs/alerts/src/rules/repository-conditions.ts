import type { AlertRuleName } from '@rf/events';
import type { RuleContext } from './alert-rule';
import { repositorySubject } from './alert-subjects';
import type { FailedJob, WatchedHost, WatchedRepository } from './fleet-watch.state';

/**
 * The conditions of a repository rule that `pick` finds on repositories still
 * registered whose subject has no open alert yet. The rule's on/off and
 * overrides are those of the host whose job showed the condition.
 */
export function* repositoryConditions(
  ctx: RuleContext,
  rule: AlertRuleName,
  pick: (r: WatchedRepository) => FailedJob | undefined,
): Iterable<{
  readonly repository: WatchedRepository;
  readonly host: WatchedHost | undefined;
  readonly condition: FailedJob;
}> {
  for (const repository of ctx.watch.repositories.values()) {
    const condition = pick(repository);
    if (condition === undefined || repository.removed || !ctx.setting(rule, condition.hostId).enabled)
      continue;
    if (ctx.isOpen(rule, repositorySubject(repository.repositoryId))) continue;
    yield { repository, host: ctx.watch.hosts.get(condition.hostId), condition };
  }
}
