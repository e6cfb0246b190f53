import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../../../common/src/errors.ts';
import { checkWriteAllowed, splitList } from '../disks/path-policy.ts';
import { decodeRecords, RECORD, streamInvalid, type ChunkRecord, type RestoreDiskPayload, type RestoreDiskResult } from './backup-wire.ts';
import { decodeStored, STORED_CODEC, StoredChunkInvalid } from './stored-chunk.ts';
import type { TaskHandler } from './types.ts';

const ZEROS = Buffer.alloc(1024 * 1024);
/**
 * Compressed chunks decode into this buffer, one after another, until the next one does not
 * fit: then the pending run is written and the buffer reused. Bounds the memory a frame of
 * well-compressed chunks takes (1 MiB of zstd can hold far more than 1 MiB of chunks).
 */
const DECODE_BYTES = 4 * 1024 * 1024;
/**
 * A background fdatasync starts after this many bytes written: the disk writes while the next
 * frames arrive, instead of all of it in the final fsync (a 1.4 GiB restore here otherwise
 * waited seconds at the end, the page cache holding all of it as dirty pages).
 */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * `restore.disk`: writes a snapshot streamed by the hub to a file or block device inside
 * FERRY_AGENT_RESTORE_PATHS. Chunks come plain (type 2) or in the repository's stored form
 * (type 3, decoded here: the hub sends pack bytes as they are). Every chunk is re-hashed before
 * it is written and a mismatch or an undecodable chunk stops the restore (`chunk_digest_mismatch`). A regular file is cut to the snapshot's size
 * first, so zero chunks stay holes; a block device gets them written as zeros.
 */
export const restoreDisk: TaskHandler = async (payload, ctx) => {
  const p = payload as RestoreDiskPayload;
  const allowed = splitList(process.env.FERRY_AGENT_RESTORE_PATHS);
  checkWriteAllowed(p.path, allowed);
  const dir = path.dirname(path.resolve(p.path));
  let realDir: string;
  try {
    realDir = await fs.realpath(dir);
  } catch (e) {
    throw new FerryError('restore_target_invalid', `the folder ${dir} does not exist on the agent`, { status: 422, cause: e });
  }
  const target = path.join(realDir, path.basename(p.path));
  checkWriteAllowed(target, allowed);
  const existing = await fs.stat(target).catch(() => null);
  const block = existing?.isBlockDevice() ?? false;
  if (existing && !block && !existing.isFile()) throw new FerryError('restore_target_invalid', `${p.path} is neither a file nor a block device`, { status: 422 });
  const fh = await fs.open(target, block ? 'r+' : 'w');
  const r: RestoreDiskResult = { path: p.path, bytes_written: 0, zero_bytes_skipped: 0, chunks_verified: 0 };
  let syncing: Promise<void> | null = null;
  // A file handle must not close under a datasync still running in the thread pool.
  const pendingSync = () => syncing ?? Promise.resolve();
  try {
    if (!block) await fh.truncate(p.size);
    let offset = 0;
    let lastReport = 0;
    const decoded = Buffer.allocUnsafeSlow(DECODE_BYTES);
    let decodedUsed = 0;
    // Contiguous data chunks go out in one writev (a frame holds ~16 of them, more when compressed).
    let run: Buffer[] = [];
    let runAt = 0;
    let runBytes = 0;
    let unsynced = 0;
    let syncFailure: unknown;
    const flush = async () => {
      if (run.length) await writeRun(fh, run, runAt, runBytes);
      unsynced += runBytes;
      run = [];
      runBytes = 0;
      decodedUsed = 0; // written: the decode buffer is free again
      if (syncFailure !== undefined) throw syncFailure;
      if (unsynced >= SYNC_EVERY_BYTES && !syncing) {
        unsynced = 0;
        syncing = fh.datasync().then(
          () => void (syncing = null),
          (e: unknown) => {
            syncFailure = e;
            syncing = null;
          },
        );
      }
    };
    const refuse = (digest: string, why: string): FerryError =>
      new FerryError('chunk_digest_mismatch', `restore refused: the chunk at offset ${offset} ${why}; nothing more is written`, { status: 422, details: { offset, digest } });
    const noData = () => streamInvalid('a restore stream carried a reference record without data');
    /** Verifies a chunk record and returns its plain bytes (decoded into `into` when given and compressed). */
    const verified = (rec: ChunkRecord, into: Buffer | undefined): Buffer => {
      let data: Buffer;
      if (rec.data) {
        data = rec.data;
      } else {
        try {
          data = decodeStored(rec.stored!, rec.length, rec.stored![0] === STORED_CODEC.zstd ? into : undefined);
        } catch (e) {
          if (e instanceof StoredChunkInvalid) throw refuse(rec.digest, `does not decode (${e.message})`);
          throw e;
        }
      }
      const actual = createHash('sha256').update(data).digest('hex');
      if (actual !== rec.digest) throw refuse(rec.digest, `hashes to ${actual}, not to ${rec.digest}`);
      r.chunks_verified++;
      return data;
    };
    // The last chunk written or queued: patches ("at" records) overlay it in place while it is
    // still in the pending run, else they are written at their offset.
    let slotStart = 0;
    let slotData: Buffer | null = null;
    let patchAt: number | null = null;
    for await (const frame of ctx.openPull(p.channel)) {
      for (const rec of decodeRecords(frame)) {
        if (rec.type === RECORD.at) {
          if (patchAt !== null || offset === 0) throw streamInvalid('a restore stream carried a misplaced patch record');
          patchAt = rec.length;
          continue;
        }
        if (patchAt !== null) {
          const at = patchAt;
          patchAt = null;
          if (at + rec.length > offset - slotStart) throw streamInvalid(`a patch of ${rec.length} bytes at ${at} does not fit its chunk`);
          if (rec.type !== RECORD.zero && !rec.data && !rec.stored) throw noData();
          const bytes = rec.type === RECORD.zero ? null : verified(rec, Buffer.allocUnsafe(rec.length));
          if (slotData && run.at(-1) === slotData) {
            if (bytes) bytes.copy(slotData, at);
            else slotData.fill(0, at, at + rec.length);
          } else {
            await flush();
            await writeAll(fh, bytes ?? ZEROS, slotStart + at, rec.length);
            r.bytes_written += rec.length;
          }
          r.patches = (r.patches ?? 0) + 1;
          continue;
        }
        slotStart = offset;
        slotData = null;
        if (rec.type === RECORD.zero) {
          await flush();
          if (block) await writeAll(fh, ZEROS, offset, rec.length);
          else r.zero_bytes_skipped += rec.length;
        } else if ((rec.type === RECORD.data && rec.data) || (rec.type === RECORD.stored && rec.stored)) {
          let into: Buffer | undefined;
          if (rec.stored && rec.stored[0] === STORED_CODEC.zstd) {
            if (rec.length > DECODE_BYTES - decodedUsed) await flush();
            // A chunk larger than the whole buffer (chunk sizes above 4 MiB) gets its own.
            into = rec.length <= DECODE_BYTES ? decoded.subarray(decodedUsed, decodedUsed + rec.length) : Buffer.allocUnsafe(rec.length);
          }
          const data = verified(rec, into);
          if (into && rec.length <= DECODE_BYTES) decodedUsed += rec.length;
          if (run.length === 0) runAt = offset;
          run.push(data);
          slotData = data;
          runBytes += rec.length;
          r.bytes_written += rec.length;
        } else {
          throw noData();
        }
        offset += rec.length;
      }
      // Raw chunks are views into the frame: written before the next frame replaces it.
      await flush();
      const t = Date.now();
      if (t - lastReport >= 500) {
        lastReport = t;
        ctx.progress({ percent: p.size ? Math.floor((offset / p.size) * 100) : 100, phase: 'writing', counters: { bytes_restored: offset, bytes_written: r.bytes_written } });
      }
    }
    if (offset !== p.size) throw new FerryError('restore_incomplete', `the restore stream ended at ${offset} of ${p.size} bytes`, { status: 409, retryable: true });
    const t0 = performance.now();
    await pendingSync();
    if (syncFailure !== undefined) throw syncFailure;
    await fh.sync();
    r.final_sync_seconds = Math.round(performance.now() - t0) / 1000;
    ctx.progress({ percent: 100, phase: 'done', counters: { bytes_restored: offset, bytes_written: r.bytes_written } });
  } finally {
    await pendingSync();
    await fh.close();
  }
  ctx.log('info', `Restored ${p.size} bytes to ${p.path} (${r.bytes_written} written, ${r.zero_bytes_skipped} left as holes)`);
  return r;
};

async function writeRun(fh: fs.FileHandle, bufs: Buffer[], position: number, total: number): Promise<void> {
  const { bytesWritten } = await fh.writev(bufs, position);
  // A short writev is rare (signals, full disk); finish the rest with plain writes.
  if (bytesWritten < total) await writeAll(fh, Buffer.concat(bufs).subarray(bytesWritten), position + bytesWritten, total - bytesWritten);
}

async function writeAll(fh: fs.FileHandle, data: Buffer, offset: number, length: number): Promise<void> {
  const zeros = data === ZEROS;
  let done = 0;
  while (done < length) {
    const { bytesWritten } = zeros
      ? await fh.write(ZEROS, 0, Math.min(length - done, ZEROS.length), offset + done)
      : await fh.write(data, done, length - done, offset + done);
    done += bytesWritten;
  }
}
