export type { AppendObject, BackendSpace, ObjectInfo, RepositoryBackend } from './backend.ts';
export { checkKey } from './backend.ts';
export { CODEC, DEFAULT_COMPRESSION, decodeChunk, encodeChunk, isDigest, sha256Hex, type CompressionConfig } from './codec.ts';
export { REPOSITORY_FORMAT, type RepositoryConfig, type RepositoryParams } from './config.ts';
export { isRepositoryError, REPOSITORY_ERRORS, RepositoryError, type RepositoryErrorCode } from './errors.ts';
export type { GcOptions, GcResult } from './gc.ts';
export { LocalDiskBackend } from './local-disk-backend.ts';
export {
  MANIFEST_FORMAT,
  manifestDigests,
  parseManifest,
  patchesBySlot,
  type ManifestPatch,
  type DiskManifest,
  type SnapshotManifest,
  type SnapshotSummary,
  type StreamManifest,
} from './manifest.ts';
export type { PendingBackup } from './pending.ts';
export { Repository, type PutChunkResult, type RepositoryOptions, type RepositoryStats, type VerifyResult } from './repository.ts';
export { restoreSnapshot, restoreSnapshotToFile, restoreStoredSnapshot, snapshotChunks, type RestoreBlock, type RestoreOptions, type SnapshotChunk, type StoredBlock } from './restore.ts';
