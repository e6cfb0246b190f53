import type { RepositoryBackend } from './backend.ts';
import type { ChunkIndex } from './chunk-index.ts';
import { isRepositoryError } from './errors.ts';
import { CHUNKS_PREFIX, digestOfKey } from './keys.ts';
import { manifestDigests, type SnapshotManifest } from './manifest.ts';
import type { PendingBackups } from './pending.ts';

export interface GcOptions {
  /** A chunk written less than this long ago is kept even when nothing references it. */
  graceMs: number;
  /** "Now" in ms since the epoch, injected for tests. @default the repository's clock */
  now?: number;
}

export interface GcResult {
  snapshotsMarked: number;
  /** Distinct chunks referenced by at least one snapshot. */
  referencedChunks: number;
  deletedChunks: number;
  deletedBytes: number;
  /** Unreferenced chunks kept because they are younger than the grace period or than a pending backup. */
  keptByGrace: number;
  /** Unreferenced chunks kept because a pending backup claimed them. */
  keptByPending: number;
}

export interface GcHost {
  backend: RepositoryBackend;
  index: ChunkIndex;
  pending: PendingBackups;
  /** Referenced digests; writeSnapshot adds to it while the GC runs. */
  marks: Set<string>;
  snapshotIds(): string[];
  readSnapshot(id: string): Promise<SnapshotManifest>;
}

export async function runGc(host: GcHost, options: Required<GcOptions>): Promise<GcResult> {
  const result: GcResult = { snapshotsMarked: 0, referencedChunks: 0, deletedChunks: 0, deletedBytes: 0, keptByGrace: 0, keptByPending: 0 };
  for (const id of host.snapshotIds()) {
    let manifest: SnapshotManifest;
    try {
      manifest = await host.readSnapshot(id);
    } catch (err) {
      if (isRepositoryError(err, 'snapshot_not_found')) continue; // deleted meanwhile
      throw err;
    }
    for (const d of manifestDigests(manifest)) host.marks.add(d);
    result.snapshotsMarked++;
  }
  result.referencedChunks = host.marks.size;

  // A backup in progress may reference chunks it wrote since it started, before its manifest
  // exists: keep everything written since the oldest of them started.
  const oldestPending = host.pending.oldestStart();
  const keepSince = Math.min(options.now - options.graceMs, oldestPending ?? Number.POSITIVE_INFINITY);

  for await (const o of host.backend.list(CHUNKS_PREFIX)) {
    const d = digestOfKey(o.key);
    if (d === null || host.marks.has(d)) continue;
    if (host.pending.isClaimed(d)) {
      result.keptByPending++;
      continue;
    }
    if (o.mtimeMs >= keepSince) {
      result.keptByGrace++;
      continue;
    }
    // Checks above and the index removal inside remove() run in the same tick: a concurrent
    // hasChunks either claimed d before (kept) or now answers false and the writer re-uploads.
    await host.index.remove(d, o.size, () => host.backend.delete(o.key));
    result.deletedChunks++;
    result.deletedBytes += o.size;
  }
  return result;
}
