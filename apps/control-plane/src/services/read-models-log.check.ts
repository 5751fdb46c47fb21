import { Logger } from '@nestjs/common';
import { ensureLogIdentity, type EventStore } from '@rf/event-store';
import { openReadModelsDatabase, verifyReadModelsLog } from '@rf/projections';
import type { AppConfig } from '../core/app-config';

/**
 * Boot step (docs/architecture.md, "Log identity"): gives the log its id if it
 * has none, then checks that `readmodels.db` (projection checkpoints and state
 * snapshots) was built from this log — refusing to start otherwise, with what
 * to do. Runs before any read model or state opens its checkpoint.
 */
export async function checkReadModelsLog(store: EventStore, config: AppConfig): Promise<void> {
  const logId = await ensureLogIdentity(store);
  const db = openReadModelsDatabase(config.readModelsPath);
  try {
    const verdict = await verifyReadModelsLog(db, store, logId, config.readModelsPath);
    const logger = new Logger('Projections');
    if (verdict === 'adopted')
      logger.log(`read models predate log identities; their checkpoint is in log ${logId}: adopted`);
    else if (verdict === 'stamped') logger.log(`read models start on log ${logId}`);
  } finally {
    db.close();
  }
}
