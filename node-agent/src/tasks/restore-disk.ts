import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../../../common/src/errors.ts';
import { checkWriteAllowed, splitList } from '../disks/path-policy.ts';
import { decodeRecords, RECORD, type RestoreDiskPayload, type RestoreDiskResult } from './backup-wire.ts';
import type { TaskHandler } from './types.ts';

const ZEROS = Buffer.alloc(1024 * 1024);

/**
 * `restore.disk`: writes a snapshot streamed by the hub to a file or block device inside
 * FERRY_AGENT_RESTORE_PATHS. Every data chunk is re-hashed before it is written and a mismatch
 * stops the restore (`chunk_digest_mismatch`). A regular file is cut to the snapshot's size
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
  try {
    if (!block) await fh.truncate(p.size);
    let offset = 0;
    let lastReport = 0;
    for await (const frame of ctx.openPull(p.channel)) {
      // Contiguous data chunks of one frame go out in one writev (a frame holds ~16 of them).
      let run: Buffer[] = [];
      let runAt = 0;
      let runBytes = 0;
      const flush = async () => {
        if (run.length) await writeRun(fh, run, runAt, runBytes);
        run = [];
        runBytes = 0;
      };
      for (const rec of decodeRecords(frame)) {
        if (rec.type === RECORD.zero) {
          await flush();
          if (block) await writeAll(fh, ZEROS, offset, rec.length);
          else r.zero_bytes_skipped += rec.length;
        } else if (rec.type === RECORD.data && rec.data) {
          const actual = createHash('sha256').update(rec.data).digest('hex');
          if (actual !== rec.digest) {
            throw new FerryError('chunk_digest_mismatch', `restore refused: the chunk at offset ${offset} hashes to ${actual}, not to ${rec.digest}; nothing more is written`, {
              status: 422,
              details: { offset, digest: rec.digest },
            });
          }
          r.chunks_verified++;
          if (run.length === 0) runAt = offset;
          run.push(rec.data);
          runBytes += rec.length;
          r.bytes_written += rec.length;
        } else {
          throw new FerryError('backup_stream_invalid', 'a restore stream carried a reference record without data', { status: 400 });
        }
        offset += rec.length;
      }
      await flush();
      const t = Date.now();
      if (t - lastReport >= 500) {
        lastReport = t;
        ctx.progress({ percent: p.size ? Math.floor((offset / p.size) * 100) : 100, phase: 'writing', counters: { bytes_restored: offset, bytes_written: r.bytes_written } });
      }
    }
    if (offset !== p.size) throw new FerryError('restore_incomplete', `the restore stream ended at ${offset} of ${p.size} bytes`, { status: 409, retryable: true });
    await fh.sync();
    ctx.progress({ percent: 100, phase: 'done', counters: { bytes_restored: offset, bytes_written: r.bytes_written } });
  } finally {
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
