import { AppError } from '../core/app-error';
import type { FleetState, HostState } from './fleet-state';

/** The enrolled host `hostId`, or a not_found / host_revoked error. */
export function requireHost(
  state: FleetState,
  hostId: string,
  options: { allowRevoked?: boolean } = {},
): HostState {
  const host = state.hosts.get(hostId);
  if (!host || host.revision < 0)
    throw new AppError('not_found', `host ${hostId} is not enrolled`, { field: 'id' });
  if (host.revoked && !options.allowRevoked)
    throw new AppError('host_revoked', `host ${hostId} has been revoked`);
  return host;
}
