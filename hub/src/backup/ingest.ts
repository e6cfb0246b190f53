import { FerryError } from '../../../common/src/errors.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { decodeRecords, RECORD, streamInvalid as invalid, type ChunkRecord } from '../../../node-agent/src/tasks/backup-wire.ts';
import type { ManifestPatch, Repository } from './repository/index.ts';
import { toFerryError } from './repositories.ts';

/** Concurrent putChunk calls: each ends in an fsync, so a few in flight keep the disk busy. */
const PUT_CONCURRENCY = 6;

export interface IngestResult {
  /** Disk: one entry per chunk (null = zeros). Stream: digest and length per chunk. */
  diskChunks: (string | null)[];
  /** Disk: patches overlaid on those chunks, in order (manifest form: slot, at, digest, length). */
  diskPatches: ManifestPatch[];
  streamChunks: { d: string; n: number }[];
  size: number;
  uploadedChunks: number;
  uploadedBytes: number;
  storedBytes: number;
}

/**
 * Reads a backup's record stream (node-agent/src/tasks/backup-wire.ts) from a relay channel
 * and stores its data chunks: plain ones (type 2) through `putChunk`, which compresses, and
 * stored ones (type 3, compressed by the agent) through `putStoredChunk`, which keeps them as
 * they came. The repository re-hashes every chunk (`chunk_digest_mismatch` refuses a chunk whose
 * bytes do not match its name, `chunk_invalid` a stored form that does not decode to its length)
 * and claims it for the pending backup.
 */
export function emptyIngest(): IngestResult {
  return { diskChunks: [], diskPatches: [], streamChunks: [], size: 0, uploadedChunks: 0, uploadedBytes: 0, storedBytes: 0 };
}

/**
 * Plain chunks from the built-in agent (a child of the hub on its own Unix socket: the hub's
 * trust domain, which could write the repository directly) are hashed one in this many, not all:
 * hashing was a fifth of the hub's CPU on a full backup. The sample still catches a systematic
 * fault (a reused buffer, a wrong chunk boundary) at once; restores and verify hash everything.
 * Chunks from any other agent are all hashed.
 */
export const LOCAL_SPOT_CHECK_EVERY = 16;

/**
 * `r` is filled as records arrive, so an interrupted attempt still tells what it uploaded.
 * `producer` tells how the frames arrive (RelayChannel.producerVia), read once the first frame
 * is in.
 */
export async function ingestRecords(
  frames: AsyncIterable<Buffer>,
  repo: Repository,
  backupId: string,
  kind: 'disk' | 'stream',
  r: IngestResult = emptyIngest(),
  producer: () => string | undefined = () => undefined,
  /** Disk streams: the chunk size, which bounds patches. */
  chunkSize = 0,
): Promise<IngestResult> {
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let local: boolean | undefined;
  let plain = 0;
  const put = (digest: string, data: Buffer, length: number, stored: boolean) => {
    local ??= producer() === 'local';
    const trustedDigest = !stored && local && plain++ % LOCAL_SPOT_CHECK_EVERY !== 0;
    const p: Promise<void> = (stored ? repo.putStoredChunk(digest, data, length, { backupId }) : repo.putChunk(digest, data, { backupId, trustedDigest })).then(
      (res) => {
        r.storedBytes += res.storedBytes;
        inFlight.delete(p);
      },
      (e: unknown) => {
        failure ??= e;
        inFlight.delete(p);
      },
    );
    inFlight.add(p);
  };
  /** Stores the chunk a data or stored record carries (nothing for a reference). */
  const upload = async (rec: ChunkRecord) => {
    const content = rec.type === RECORD.data ? rec.data : rec.type === RECORD.stored ? rec.stored : undefined;
    if (!content) return;
    r.uploadedChunks++;
    r.uploadedBytes += rec.length;
    put(rec.digest, content, rec.length, rec.type === RECORD.stored);
    // A put compresses in a microtask: a frame's puts would run back to back and the
    // socket would not be read meanwhile, while it holds only ~200 KB (the local one)
    // and the agent waits to write. A turn per chunk keeps it drained (2 GiB full
    // backup, alternated runs: 4.2-5.2 s -> 3.8-4.2 s).
    await nextTurn();
    while (inFlight.size >= PUT_CONCURRENCY) await Promise.race(inFlight);
  };
  let patchAt: number | null = null;
  let slotLength = 0;
  for await (const frame of frames) {
    for (const rec of decodeRecords(frame)) {
      if (failure) throw toFerryError(failure);
      if (rec.type === RECORD.at) {
        if (kind === 'stream' || r.diskChunks.length === 0 || patchAt !== null) throw invalid('a patch record came without a chunk to patch');
        patchAt = rec.length;
        continue;
      }
      if (patchAt !== null) {
        if (rec.length < 1 || patchAt + rec.length > slotLength) throw invalid(`a patch of ${rec.length} bytes at ${patchAt} does not fit its ${slotLength}-byte chunk`);
        r.diskPatches.push([r.diskChunks.length - 1, patchAt, rec.type === RECORD.zero ? null : rec.digest, rec.length]);
        patchAt = null;
        await upload(rec);
        continue;
      }
      slotLength = rec.length;
      if (kind === 'disk' && chunkSize > 0 && rec.length > chunkSize) throw invalid(`a ${rec.length}-byte record in a disk stream of ${chunkSize}-byte chunks`);
      if (rec.type === RECORD.zero) {
        if (kind === 'stream') throw invalid('a stream backup carried a zero record');
        r.diskChunks.push(null);
      } else {
        if (kind === 'disk') r.diskChunks.push(rec.digest);
        else r.streamChunks.push({ d: rec.digest, n: rec.length });
        await upload(rec);
      }
      r.size += rec.length;
    }
  }
  await Promise.all(inFlight);
  if (failure) throw toFerryError(failure);
  if (patchAt !== null) throw invalid('the stream ended after a patch record');
  return r;
}

/**
 * Backups in progress on this hub, so `backup.has_chunks` answers only the agent that runs the
 * backup, against the right repository, and claims what it reports for that backup.
 */
export class ActiveBackups {
  private readonly active = new Map<string, { agentId: string; repo: Repository }>();

  add(backupId: string, agentId: string, repo: Repository): () => void {
    this.active.set(backupId, { agentId, repo });
    return () => this.active.delete(backupId);
  }

  /** Call handler: `{ backup_id, digests }` -> `{ have: "0101..." }`. */
  async hasChunks(agentId: string, payload: unknown): Promise<{ have: string }> {
    const p = (payload ?? {}) as { backup_id?: unknown; digests?: unknown };
    const entry = typeof p.backup_id === 'string' ? this.active.get(p.backup_id) : undefined;
    if (!entry || entry.agentId !== agentId) {
      throw new FerryError('backup_not_active', `No backup ${String(p.backup_id)} is running on agent ${agentId}`, { status: 404 });
    }
    if (!Array.isArray(p.digests) || p.digests.length > 4096 || !p.digests.every((d) => typeof d === 'string')) {
      throw new FerryError('bad_request', 'digests must be an array of at most 4096 hex SHA-256 strings', { status: 400 });
    }
    try {
      const have = await entry.repo.hasChunks(p.digests as string[], { backupId: p.backup_id as string });
      return { have: have.map((h) => (h ? '1' : '0')).join('') };
    } catch (e) {
      throw toFerryError(e);
    }
  }
}
