import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ingestRecords, LOCAL_SPOT_CHECK_EVERY } from '../../../hub/src/backup/ingest.ts';
import { Repository } from '../../../hub/src/backup/repository/index.ts';
import { RECORD } from '../../../node-agent/src/tasks/backup-wire.ts';
import { RecordPacker } from '../../../node-agent/src/tasks/record-packer.ts';
import { sha256, tempDir } from './repository-helpers.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function freshRepo(): Promise<Repository> {
  const root = await tempDir();
  dirs.push(root);
  const repo = await Repository.init(root);
  await repo.beginBackup({ id: 'bk' });
  return repo;
}

/** Plain records for `chunks`; the chunk at `lieAt` goes out under another chunk's digest. */
async function frames(chunks: Buffer[], lieAt: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const p = new RecordPacker(async (f) => void out.push(Buffer.from(f)));
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!;
    await p.add(RECORD.data, i === lieAt ? sha256(randomBytes(32)) : sha256(c), c.length, c);
  }
  await p.flush();
  return out;
}

async function* iterate(f: Buffer[]): AsyncGenerator<Buffer> {
  yield* f;
}

describe('ingest: how much of an upload the hub re-hashes', () => {
  const chunks = Array.from({ length: 40 }, () => randomBytes(4096));

  it('hashes every chunk from a remote agent (tls or grpc): a single lying chunk is refused', async () => {
    for (const via of ['tls', 'grpc', undefined]) {
      const repo = await freshRepo();
      await expect(ingestRecords(iterate(await frames(chunks, 5)), repo, 'bk', 'disk', undefined, () => via)).rejects.toMatchObject({ code: 'chunk_digest_mismatch' });
    }
  });

  it('spot-checks the built-in agent on its local socket: the sampled chunk is hashed, the others are trusted', async () => {
    // The first plain chunk and every LOCAL_SPOT_CHECK_EVERY-th after it are hashed.
    let repo = await freshRepo();
    await expect(ingestRecords(iterate(await frames(chunks, LOCAL_SPOT_CHECK_EVERY)), repo, 'bk', 'disk', undefined, () => 'local')).rejects.toMatchObject({
      code: 'chunk_digest_mismatch',
    });
    repo = await freshRepo();
    const r = await ingestRecords(iterate(await frames(chunks, 5)), repo, 'bk', 'disk', undefined, () => 'local');
    expect(r.uploadedChunks).toBe(40);
    expect(await repo.hasChunks([sha256(chunks[5]!)])).toEqual([false]);
    // Verify hashes everything, so the trusted lie does not stay hidden: it names the chunk.
    await repo.writeSnapshot({ format: 1, id: 'snap', kind: 'disk', size: 40 * 4096, chunkSize: 4096, chunks: r.diskChunks, createdAt: new Date().toISOString() } as never);
    const v = await repo.verifySnapshot('snap');
    expect(v.ok).toBe(false);
    expect(v.damaged).toEqual([r.diskChunks[5]]);
  });
});

describe('ingest: patch records', () => {
  async function stream(fill: (p: RecordPacker) => Promise<void>): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const p = new RecordPacker(async (f) => void out.push(Buffer.from(f)));
    await fill(p);
    await p.flush();
    return out;
  }
  const base = randomBytes(16384);
  const page = randomBytes(4096);

  it('stores a patch and lists it against the chunk before it', async () => {
    const repo = await freshRepo();
    const f = await stream(async (p) => {
      await p.add(RECORD.data, sha256(base), base.length, base);
      await p.add(RECORD.at, '', 8192);
      await p.add(RECORD.data, sha256(page), page.length, page);
      await p.add(RECORD.zero, '', base.length);
      await p.add(RECORD.at, '', 0);
      await p.add(RECORD.zero, '', 4096);
    });
    const r = await ingestRecords(iterate(f), repo, 'bk', 'disk', undefined, () => 'grpc', 16384);
    expect(r.diskChunks).toEqual([sha256(base), null]);
    expect(r.diskPatches).toEqual([
      [0, 8192, sha256(page), 4096],
      [1, 0, null, 4096],
    ]);
    expect(r.size).toBe(2 * 16384);
    expect(await repo.hasChunks([sha256(page)])).toEqual([true]);
  });

  it('refuses a patch with no chunk before it, one that does not fit its chunk, one in a stream backup, and a stream ending after "at"', async () => {
    const cases: [string, 'disk' | 'stream', (p: RecordPacker) => Promise<void>][] = [
      ['first', 'disk', async (p) => void (await p.add(RECORD.at, '', 0))],
      ['too long', 'disk', async (p) => {
        await p.add(RECORD.data, sha256(base), base.length, base);
        await p.add(RECORD.at, '', 16384 - 2048);
        await p.add(RECORD.data, sha256(page), page.length, page);
      }],
      ['stream', 'stream', async (p) => {
        await p.add(RECORD.data, sha256(base), base.length, base);
        await p.add(RECORD.at, '', 0);
      }],
      ['dangling', 'disk', async (p) => {
        await p.add(RECORD.data, sha256(base), base.length, base);
        await p.add(RECORD.at, '', 0);
      }],
    ];
    for (const [name, kind, fill] of cases) {
      const repo = await freshRepo();
      await expect(ingestRecords(iterate(await stream(fill)), repo, 'bk', kind, undefined, () => 'grpc', 16384), name).rejects.toMatchObject({ code: 'backup_stream_invalid' });
    }
  });
});
