import { firstJsonDocument, isObject, num, optNum } from './json-fields';

export interface ResticStats {
  totalSize: number;
  totalFileCount: number;
  totalBlobCount: number;
  snapshotsCount: number;
  /** raw-data mode from 0.17 only. */
  totalUncompressedSize: number | undefined;
  compressionRatio: number | undefined;
  compressionProgress: number | undefined;
  compressionSpaceSaving: number | undefined;
}

/** `stats --json` (any mode); undefined when restic printed no JSON. */
export function parseStatsOutput(input: readonly string[] | unknown): ResticStats | undefined {
  const doc = Array.isArray(input)
    ? firstJsonDocument(input.filter((l): l is string => typeof l === 'string'))
    : input;
  if (!isObject(doc)) return undefined;
  return {
    totalSize: num(doc, 'total_size'),
    totalFileCount: num(doc, 'total_file_count'),
    totalBlobCount: num(doc, 'total_blob_count'),
    snapshotsCount: num(doc, 'snapshots_count'),
    totalUncompressedSize: optNum(doc, 'total_uncompressed_size'),
    compressionRatio: optNum(doc, 'compression_ratio'),
    compressionProgress: optNum(doc, 'compression_progress'),
    compressionSpaceSaving: optNum(doc, 'compression_space_saving'),
  };
}
