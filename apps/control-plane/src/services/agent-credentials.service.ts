import { Injectable } from '@nestjs/common';
import { IdentityLog } from './identity.log';
import { secretMatchesHash, sha256Hex } from '../core/secret-tokens';

const BEARER = /^Bearer\s+([0-9a-fA-F-]{36})\.([A-Za-z0-9_-]{16,128})$/i;
/** Compared against when the host is unknown, so both paths cost one hash and one compare. */
const DUMMY_HASH = sha256Hex('restic-fleet:no-such-agent');

/** Verifies the credentials an agent presents on the WebSocket upgrade. */
@Injectable()
export class AgentCredentialsService {
  constructor(private readonly identity: IdentityLog) {}

  /** `{hostId}` for `Bearer <agent_id>.<agent_secret>` of an enrolled, unrevoked host; null otherwise. */
  async verifyBearer(authorizationHeader: string | undefined): Promise<{ hostId: string } | null> {
    const m = BEARER.exec((authorizationHeader ?? '').trim());
    if (!m) return null;
    const hostId = m[1]!.toLowerCase();
    const host = this.identity.state.hosts.get(hostId);
    const matches = secretMatchesHash(m[2]!, host?.secretHash ?? DUMMY_HASH);
    if (!host || host.revoked || !matches) return null;
    return { hostId: host.hostId };
  }
}
