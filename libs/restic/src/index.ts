export { ResticError } from './restic.errors';
export type { ResticErrorCode } from './restic.errors';
export { parseVersionOutput, compareVersions, versionAtLeast, formatVersion } from './restic-version';
export type { ResticVersion } from './restic-version';
export { locateRestic, resticCandidates, readResticVersion } from './restic-locator';
export type { LocateResticOptions, LocatedRestic } from './restic-locator';
export { ResticProcessRepository } from './process/restic-process.repository';
export type { ResticRunOptions, ResticRunResult, ResticStream } from './process/restic-process.repository';
export { resticEnvironment } from './process/restic-environment';
export type { ResticRepository } from './process/restic-environment';
export { LineSplitter } from './process/line-splitter';
export * from './args/restic-args';
export { sameSnapshotId } from './parsers/json-fields';
export { parseResticLine } from './parsers/restic-line.parser';
export type { ResticLine, ResticExitError } from './parsers/restic-line.parser';
export {
  parseBackupLine,
  parseBackupOutput,
  parseBackupStatus,
  parseBackupSummary,
  describeResticError,
} from './parsers/restic-backup.parser';
export type {
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
