import { readIntSetting as readInt } from './live.settings';

const MIB = 1024 * 1024;

/**
 * Limits of snapshot browsing (docs/browse.md), validated once at boot:
 * `RF_BROWSE_CACHE_MAX_MB` (the on-disk listing cache, default 256),
 * `RF_BROWSE_MAX_ANSWER_MB` (one ls/find/diff answer, default 64),
 * `RF_BROWSE_MAX_DOWNLOAD_MB` (one download, default 1 TiB).
 */
export class BrowseSettings {
  constructor(
    readonly cacheMaxBytes = 256 * MIB,
    readonly maxAnswerBytes = 64 * MIB,
    readonly maxDownloadBytes = 1024 * 1024 * MIB,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv): BrowseSettings {
    return new BrowseSettings(
      readInt(env, 'RF_BROWSE_CACHE_MAX_MB', 256, 1, 1024 * 1024) * MIB,
      readInt(env, 'RF_BROWSE_MAX_ANSWER_MB', 64, 1, 64 * 1024) * MIB,
      readInt(env, 'RF_BROWSE_MAX_DOWNLOAD_MB', 1024 * 1024, 1, 1024 * 1024 * 1024) * MIB,
    );
  }
}
