import { createHash } from 'node:crypto';
import { isAllZero } from '../../../common/src/chunking/index.ts';
import { FerryError } from '../../../common/src/errors.ts';
import { splitList } from '../disks/path-policy.ts';
import { RawDiskSource } from '../disks/raw.ts';
import type { Extent } from '../disks/types.ts';
import { ChunkUploader } from './backup-uploader.ts';
import { decodeDigestList, type BackupDiskPayload, type BackupDiskResult } from './backup-wire.ts';
import type { TaskContext, TaskHandler } from './types.ts';

/** Bytes read per read call: 16 chunks of 64 KiB; large enough that syscalls do not dominate. */
const READ_BYTES = 1024 * 1024;

/**
 * `backup.disk`: reads a raw disk in fixed chunks aligned to the disk, hashes each, and sends
 * the hub one record per chunk: zero, unchanged (same digest as the previous snapshot at that
 * index: not even looked up), known (the hub said it has it) or data. Holes found by
 * SEEK_HOLE are zero chunks without being read.
 */
export const backupDisk: TaskHandler = async (payload, ctx) => {
  const p = payload as BackupDiskPayload;
  const chunkSize = p.chunk_size;
  if (!Number.isInteger(chunkSize) || chunkSize < 4096 || (chunkSize & (chunkSize - 1)) !== 0) {
    throw new FerryError('bad_request', `chunk_size ${chunkSize} is not a power of two >= 4096`);
  }
  const disk = await RawDiskSource.open(p.path, splitList(process.env.FERRY_AGENT_DISK_PATHS));
  try {
    const { size } = disk.describe();
    const previous = p.previous_channel ? await readPrevious(ctx, p.previous_channel) : [];
    const extents = await disk.allocatedExtents();
    const sink = await ctx.openPush(p.channel);
    const up = new ChunkUploader(ctx, p.backup_id, (f) => sink.write(f));
    const chunks = Math.ceil(size / chunkSize);
    const r: BackupDiskResult = { size, chunks, zero_chunks: 0, unchanged_chunks: 0, looked_up_chunks: 0, uploaded_chunks: 0, uploaded_bytes: 0, bytes_read: 0 };
    let lastReport = 0;
    const report = (force = false) => {
      const t = Date.now();
      if (!force && t - lastReport < 500) return;
      lastReport = t;
      ctx.progress({
        percent: chunks === 0 ? 100 : Math.floor((up.emitted / chunks) * 100),
        phase: 'reading',
        counters: { bytes_read: r.bytes_read, bytes_uploaded: up.packer.dataBytes, chunks_uploaded: up.uploadedChunks, chunks_done: up.emitted },
      });
    };
    try {
      let ext = 0;
      for (let start = 0; start < chunks; ) {
        ctx.signal.throwIfAborted();
        const offset = start * chunkSize;
        // Skip extents that end before this chunk; a chunk outside every extent is a hole.
        while (ext < extents.length && end(extents[ext]!) <= offset) ext++;
        const inData = ext < extents.length && extents[ext]!.offset < offset + chunkSize;
        if (!inData) {
          // Consecutive hole chunks up to the next extent.
          const holeEnd = ext < extents.length ? Math.floor(extents[ext]!.offset / chunkSize) : chunks;
          for (let i = start; i < Math.max(holeEnd, start + 1); i++) {
            await up.zero(Math.min(chunkSize, size - i * chunkSize));
            r.zero_chunks++;
          }
          start = Math.max(holeEnd, start + 1);
          continue;
        }
        const count = Math.min(READ_BYTES / chunkSize || 1, chunks - start);
        const buf = await disk.read(offset, count * chunkSize);
        r.bytes_read += buf.length;
        for (let k = 0; k < count; k++) {
          const i = start + k;
          const data = buf.subarray(k * chunkSize, Math.min((k + 1) * chunkSize, buf.length));
          if (isAllZero(data)) {
            await up.zero(data.length);
            r.zero_chunks++;
            continue;
          }
          const digest = createHash('sha256').update(data).digest('hex');
          if (previous[i] === digest) {
            await up.known(digest, data.length);
            r.unchanged_chunks++;
          } else {
            await up.candidate(digest, data);
          }
        }
        start += count;
        report();
      }
      await up.finish();
      report(true);
      await sink.end();
    } catch (e) {
      sink.abort(e instanceof Error ? e.message : String(e));
      throw e;
    }
    r.looked_up_chunks = up.lookedUp;
    r.uploaded_chunks = up.uploadedChunks;
    r.uploaded_bytes = up.packer.dataBytes;
    ctx.log('info', `Read ${r.bytes_read} bytes of ${size}; uploaded ${r.uploaded_chunks} chunk(s), ${r.uploaded_bytes} bytes`, { ...r });
    return r;
  } finally {
    await disk.release();
  }
};

function end(e: Extent): number {
  return e.offset + e.length;
}

async function readPrevious(ctx: TaskContext, channel: string): Promise<(string | null)[]> {
  const parts: Buffer[] = [];
  for await (const f of ctx.openPull(channel)) parts.push(f);
  return decodeDigestList(Buffer.concat(parts));
}
