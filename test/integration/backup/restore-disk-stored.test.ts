import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zstd from 'zstd-napi/binding.js';
import { RECORD } from '../../../node-agent/src/tasks/backup-wire.ts';
import { RecordPacker } from '../../../node-agent/src/tasks/record-packer.ts';
import { restoreDisk } from '../../../node-agent/src/tasks/restore-disk.ts';
import { STORED_CODEC } from '../../../node-agent/src/tasks/stored-chunk.ts';
import type { TaskContext } from '../../../node-agent/src/tasks/types.ts';
import { logText, tempDir } from './repository-helpers.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The agent's side of a restore, fed with frames a RecordPacker made (as the hub's restore job does). */
async function restoreFrom(target: string, size: number, fill: (p: RecordPacker) => Promise<void>): Promise<unknown> {
  const frames: Buffer[] = [];
  const p = new RecordPacker(async (f) => void frames.push(Buffer.from(f)));
  await fill(p);
  await p.flush();
  const ctx: TaskContext = {
    taskId: 't',
    jobId: 'j',
    signal: new AbortController().signal,
    progress: () => undefined,
    log: () => undefined,
    openPush: () => Promise.reject(new Error('no push channel in this test')),
    openPull: () =>
      (async function* () {
        yield* frames;
      })(),
    call: () => Promise.reject(new Error('no hub in this test')),
  };
  return restoreDisk({ path: target, size, channel: 'c' }, ctx);
}

function unsizedZstd(data: Buffer): Buffer {
  const c = new zstd.CCtx();
  c.setParameter(zstd.CParameter.contentSizeFlag, 0);
  const out = Buffer.alloc(1 + zstd.compressBound(data.length));
  out[0] = STORED_CODEC.zstd;
  return out.subarray(0, 1 + c.compress2(out.subarray(1), data));
}

describe('restore.disk with stored (type-3) records', () => {
  let dir: string;
  const saved = process.env.FERRY_AGENT_RESTORE_PATHS;
  beforeAll(async () => {
    dir = await tempDir();
    process.env.FERRY_AGENT_RESTORE_PATHS = dir;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.FERRY_AGENT_RESTORE_PATHS;
    else process.env.FERRY_AGENT_RESTORE_PATHS = saved;
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('decodes, checks and writes them, even when one frame holds more than the 4 MiB decode buffer', async () => {
    // 300 chunks of one repeated byte compress to a few bytes each: ~19 MiB of chunks in one frame.
    const chunks: (Buffer | null)[] = [];
    for (let i = 0; i < 300; i++) chunks.push(Buffer.alloc(65536, (i % 255) + 1));
    chunks.push(null, randomBytes(65536), logText(65536, 3), null, logText(1234, 4));
    const expected = Buffer.concat(chunks.map((c) => c ?? Buffer.alloc(65536)));
    const target = path.join(dir, 'ok.img');
    const r = await restoreFrom(target, expected.length, async (p) => {
      for (const [i, c] of chunks.entries()) {
        if (c === null) await p.add(RECORD.zero, '', 65536);
        else if (i === 302) await p.add(RECORD.data, sha(c), c.length, c);
        else await p.addCompressed(sha(c), c, 1);
      }
    });
    expect(r).toMatchObject({ bytes_written: expected.length - 2 * 65536, zero_bytes_skipped: 2 * 65536, chunks_verified: 303 });
    expect((await fs.readFile(target)).equals(expected)).toBe(true);
  });

  it('refuses a chunk whose stored form decodes to other bytes, another length, or not at all', async () => {
    const good = logText(65536, 5);
    const other = logText(65536, 6);
    const cases: [string, (p: RecordPacker) => Promise<void>, RegExp][] = [
      ['other bytes', (p) => p.addCompressed(sha(good), other, 1), /hashes to/],
      ['a bomb', (p) => p.addStored(sha(good), 65536, unsizedZstd(Buffer.alloc(64 * 1024 * 1024, 1))), /does not decode/],
      ['too short', (p) => p.addStored(sha(good), 65536, unsizedZstd(good.subarray(0, 65000))), /decodes to 65000 bytes/],
      ['raw of another length', (p) => p.addStored(sha(good), 65536, Buffer.concat([Buffer.from([STORED_CODEC.raw]), good.subarray(1)])), /raw chunk of 65535 bytes/],
    ];
    for (const [name, record, why] of cases) {
      const target = path.join(dir, `bad-${name.replace(/ /g, '-')}.img`);
      const run = restoreFrom(target, 2 * 65536, async (p) => {
        await p.addCompressed(sha(good), good, 1);
        await record(p);
      });
      await expect(run, name).rejects.toMatchObject({ code: 'chunk_digest_mismatch', message: expect.stringMatching(why) });
      // Nothing of the refused chunk reaches the disk.
      expect((await fs.readFile(target)).subarray(65536).equals(Buffer.alloc(65536))).toBe(true);
    }
  });
});
