import * as path from 'node:path';
import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../core/app-config';
import { BrowseSettings } from '../core/browse.settings';
import { TreeCacheRepository } from '../repositories/tree-cache.repository';
import { FleetModule } from './fleet.module';
import { ReadModelsModule } from './read-models.module';
import { SnapshotBrowseService } from './snapshot-browse.service';

/**
 * Snapshot browse, search, diff and download (docs/browse.md): the listing
 * cache in `$RF_DATA_DIR/browse-cache.db` and the service that asks agents
 * through the `AGENT_QUERIES` port the root module binds.
 */
@Module({
  imports: [FleetModule, ReadModelsModule],
  providers: [
    { provide: BrowseSettings, useFactory: () => BrowseSettings.fromEnv(process.env) },
    {
      provide: TreeCacheRepository,
      inject: [AppConfig, BrowseSettings],
      useFactory: (config: AppConfig, settings: BrowseSettings) =>
        new TreeCacheRepository(path.join(config.dataDir, 'browse-cache.db'), settings.cacheMaxBytes),
    },
    SnapshotBrowseService,
  ],
  exports: [SnapshotBrowseService],
})
export class BrowseModule implements OnApplicationShutdown {
  constructor(@Inject(TreeCacheRepository) private readonly cache: TreeCacheRepository) {}

  onApplicationShutdown(): void {
    this.cache.close();
  }
}
