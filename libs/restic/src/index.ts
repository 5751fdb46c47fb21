export { ResticError } from './restic.errors';
export type { ResticErrorCode } from './restic.errors';
export { parseVersionOutput, compareVersions, versionAtLeast, formatVersion } from './restic-version';
export type { ResticVersion } from './restic-version';
export { locateRestic, resticCandidates, readResticVersion } from './restic-locator';
export type { LocateResticOptions, LocatedRestic } from './restic-locator';
export { ResticProcessRepository } from './process/restic-process.repository';
export type { ResticRunOptions, ResticRunResult, ResticStream } from './process/restic-process.repository';
export { resticCopyEnvironment, resticEnvironment } from './process/restic-environment';
export { processStopper, powershellArgs, taskkillArgs, windowsCtrlCScript } from './process/process-stopper';
export type { HelperRunner, ProcessStopper } from './process/process-stopper';
export type { ResticRepository } from './process/restic-environment';
export { LineSplitter } from './process/line-splitter';
export { waitForExit } from './process/child-exit';
export type { ChildExit } from './process/child-exit';
export {
  argsForJob,
  argsForQuery,
  catConfigArgs,
  initCopyChunkerParamsArgs,
  RESTORE_OVERWRITE_MODES,
  withoutLock,
} from './args/restic-args';
export type { ResticInvocation, ResticJob, ResticQuery, RestoreOverwrite } from './args/restic-args';
export { CopyReportBuilder, parseCopyLine, parseCopyOutput } from './parsers/restic-copy.parser';
export type { CopiedSnapshot, CopyLine, CopyReport } from './parsers/restic-copy.parser';
export { sameSnapshotId } from './parsers/json-fields';
export { parseResticLine } from './parsers/restic-line.parser';
export type { ResticLine, ResticExitError } from './parsers/restic-line.parser';
export {
  parseBackupLine,
  parseBackupOutput,
  parseBackupStatus,
  parseBackupSummary,
  parseBackupCounters,
  describeResticError,
} from './parsers/restic-backup.parser';
export type {
  BackupCounters,
  BackupLine,
  BackupReport,
  BackupStatus,
  BackupSummary,
  BackupVerboseStatus,
  ResticItemError,
} from './parsers/restic-backup.parser';
export { progressFromStatus, ProgressThrottle } from './parsers/restic-progress';
export type { ResticProgress } from './parsers/restic-progress';
export { classifyOutcome, resticFailureText } from './restic-outcome';
export type {
  ClassifyOutcomeInput,
  ResticOutcome,
  ResticOutcomeCode,
  ResticOutcomeStatus,
} from './restic-outcome';
export { parseSnapshot, parseSnapshots, parseSnapshotGroups } from './parsers/restic-snapshots.parser';
export type {
  ResticSnapshot,
  SnapshotGroup,
  SnapshotGroupKey,
  SnapshotSummary,
} from './parsers/restic-snapshots.parser';
export { parseForgetOutput } from './parsers/restic-forget.parser';
export type { ForgetGroup, ForgetReason, ForgetReport } from './parsers/restic-forget.parser';
export { parseStatsOutput } from './parsers/restic-stats.parser';
export type { ResticStats } from './parsers/restic-stats.parser';
export { parseLsNodeLine, parseLsOutput } from './parsers/restic-ls.parser';
export { parseDiffLine, parseFindOutput } from './parsers/restic-browse.parser';
export type { DiffLine, DiffModifier, DiffStats, FindMatch } from './parsers/restic-browse.parser';
export type { LsNode, LsReport } from './parsers/restic-ls.parser';
export { parseCheckOutput } from './parsers/restic-check.parser';
export type { CheckReport } from './parsers/restic-check.parser';
export { parseInitOutput } from './parsers/restic-init.parser';
export type { InitReport } from './parsers/restic-init.parser';
export { parseRestoreItemLine, parseRestoreOutput } from './parsers/restic-restore.parser';
export type { RestoreCounters, RestoreItem, RestoreReport } from './parsers/restic-restore.parser';
export { parseUnlockOutput, parsePruneText } from './parsers/restic-maintenance.parser';
export type { PruneReport, UnlockReport } from './parsers/restic-maintenance.parser';
