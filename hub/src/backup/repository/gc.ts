import type { RepositoryBackend } from './backend.ts';
import type { ChunkIndex, Pack } from './chunk-index.ts';
import { isRepositoryError } from './errors.ts';
import { packIndexKey, packKey } from './keys.ts';
import { manifestDigests, type SnapshotManifest } from './manifest.ts';
import { ENTRY_HEADER_SIZE, encodeIndex, type PackEntry } from './pack-format.ts';
import type { PackWriter } from './pack-writer.ts';
import type { PendingBackups } from './pending.ts';

export interface GcOptions {
  /** A chunk written less than this long ago is kept even when nothing references it. */
  graceMs: number;
  /** "Now" in ms since the epoch, injected for tests. @default the repository's clock */
  now?: number;
  /**
   * A pack whose live bytes fall below this fraction of its file is rewritten (repacked)
   * with only its live chunks. 0 never repacks (dead bytes stay until the pack is all dead).
   * @default 0.5
   */
  repackThreshold?: number;
}

export interface GcResult {
  snapshotsMarked: number;
  /** Distinct chunks referenced by at least one snapshot. */
  referencedChunks: number;
  /** Chunks removed from the repository. */
  deletedChunks: number;
  /** Stored bytes of those chunks (as counted by `stats().storedBytes`). */
  deletedBytes: number;
  /** Unreferenced chunks kept because they are younger than the grace period or than a pending backup. */
  keptByGrace: number;
  /** Unreferenced chunks kept because a pending backup claimed them. */
  keptByPending: number;
  /** Pack files deleted because no chunk in them was alive. */
  packsDeleted: number;
  /** Pack files rewritten with only their live chunks. */
  packsRepacked: number;
  /** Bytes of pack files freed on disk, net of the packs the repack wrote. */
  reclaimedBytes: number;
}

export interface GcHost {
  backend: RepositoryBackend;
  index: ChunkIndex;
  pending: PendingBackups;
  /** Referenced digests; writeSnapshot adds to it while the GC runs. */
  marks: Set<string>;
  packSize: number;
  snapshotIds(): string[];
  readSnapshot(id: string): Promise<SnapshotManifest>;
  /** A new pack writer for repacked chunks; the host registers its pack. */
  newWriter(): Promise<PackWriter>;
  /** Seals a writer and marks its pack sealed in the index. */
  seal(w: PackWriter): Promise<void>;
}

const entryBytes = (e: PackEntry): number => ENTRY_HEADER_SIZE + e.length;

export async function runGc(host: GcHost, options: { graceMs: number; now: number; repackThreshold: number }): Promise<GcResult> {
  const { index, backend } = host;
  const result: GcResult = {
    snapshotsMarked: 0,
    referencedChunks: 0,
    deletedChunks: 0,
    deletedBytes: 0,
    keptByGrace: 0,
    keptByPending: 0,
    packsDeleted: 0,
    packsRepacked: 0,
    reclaimedBytes: 0,
  };
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
  // exists: keep every pack written since the oldest of them started.
  const oldestPending = host.pending.oldestStart();
  const keepSince = Math.min(options.now - options.graceMs, oldestPending ?? Number.POSITIVE_INFINITY);

  const touched: { pack: Pack; live: PackEntry[] }[] = [];
  for (const pack of [...index.packs.values()]) {
    if (pack.writer) {
      // Open or sealing: written just now, so every unreferenced chunk in it is young.
      for (const e of index.liveEntries(pack)) {
        if (host.marks.has(e.digest)) continue;
        if (host.pending.isClaimed(e.digest)) result.keptByPending++;
        else result.keptByGrace++;
      }
      continue;
    }
    const st = await backend.stat(packKey(pack.id));
    if (!st) continue;
    const young = st.mtimeMs >= keepSince;
    // From here to the end of the loop body nothing awaits: a concurrent hasChunks either
    // claimed a digest before (kept) or runs after its removal and answers false.
    const live: PackEntry[] = [];
    let changed = false;
    for (const e of pack.entries) {
      if (index.get(e.digest)?.pack !== pack) {
        changed = true; // a duplicate of a chunk kept in another pack
        continue;
      }
      if (host.marks.has(e.digest)) {
        live.push(e);
      } else if (host.pending.isClaimed(e.digest)) {
        result.keptByPending++;
        live.push(e);
      } else if (young) {
        result.keptByGrace++;
        live.push(e);
      } else {
        index.delete(e.digest);
        result.deletedChunks++;
        result.deletedBytes += e.length;
        changed = true;
      }
    }
    if (changed) touched.push({ pack, live });
  }

  const repack: { pack: Pack; live: PackEntry[] }[] = [];
  for (const t of touched) {
    const liveBytes = t.live.reduce((n, e) => n + entryBytes(e), 0);
    if (t.live.length === 0) {
      await dropPack(host, t.pack);
      result.packsDeleted++;
      result.reclaimedBytes += t.pack.fileBytes;
    } else if (liveBytes < options.repackThreshold * t.pack.fileBytes) {
      repack.push(t);
    } else {
      await backend.put(packIndexKey(t.pack.id), encodeIndex(t.live));
      t.pack.entries = t.live;
    }
  }
  if (repack.length > 0) result.reclaimedBytes += await repackAll(host, repack);
  result.packsRepacked = repack.length;
  return result;
}

async function dropPack(host: GcHost, pack: Pack): Promise<void> {
  // Index first: a pack without its .idx is rebuilt from its trailer at open, an .idx
  // without its pack is ignored, and the chunks are gone from the index already.
  await host.backend.delete(packIndexKey(pack.id));
  await host.backend.delete(packKey(pack.id));
  host.index.packs.delete(pack.id);
}

/**
 * Copies the live entries of `packs` (as stored, not recompressed) into new packs, seals them,
 * points the index at the copies, then deletes the old packs. Returns the net bytes freed.
 */
async function repackAll(host: GcHost, packs: { pack: Pack; live: PackEntry[] }[]): Promise<number> {
  const moved: { digest: string; from: Pack; to: Promise<PackEntry>; writer: PackWriter }[] = [];
  const writers: PackWriter[] = [];
  let w: PackWriter | null = null;
  for (const { pack, live } of packs) {
    const whole = await host.backend.readAt(packKey(pack.id), 0, pack.fileBytes);
    for (const e of live) {
      if (host.index.get(e.digest)?.pack !== pack) continue;
      if (e.offset + e.length > whole.length) continue; // truncated: verify reports it; do not spread it
      if (!w || w.size >= host.packSize) {
        if (w) void host.seal(w).catch(() => undefined); // awaited below
        w = await host.newWriter();
        writers.push(w);
      }
      moved.push({ digest: e.digest, from: pack, to: w.append(e.digest, [whole.subarray(e.offset, e.offset + e.length)]), writer: w });
    }
  }
  const entries = await Promise.all(moved.map((m) => m.to));
  await Promise.all(writers.map((x) => host.seal(x)));
  moved.forEach((m, i) => {
    if (host.index.get(m.digest)?.pack === m.from) host.index.set(m.digest, { pack: m.writer.pack, offset: entries[i]!.offset, length: entries[i]!.length }, true);
  });
  let freed = 0;
  for (const { pack } of packs) {
    await dropPack(host, pack);
    freed += pack.fileBytes;
  }
  for (const x of writers) freed -= x.pack.fileBytes;
  return freed;
}
