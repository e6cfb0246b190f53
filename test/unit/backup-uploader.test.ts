import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BACKUP_CALLS, decodeRecords, RECORD } from '../../node-agent/src/tasks/backup-wire.ts';
import { ChunkUploader, LOOKUP_BATCH, LOOKUPS_IN_FLIGHT } from '../../node-agent/src/tasks/backup-uploader.ts';
import type { TaskContext } from '../../node-agent/src/tasks/types.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The hub side of `backup.has_chunks` as a function: answers after a delay that shrinks with each
 * call, so later lookups finish before earlier ones. The uploader must still emit in order.
 */
function hubStub(stored: Set<string>) {
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  const ctx = {
    call: async (method: string, payload: unknown) => {
      expect(method).toBe(BACKUP_CALLS.hasChunks);
      const { digests } = payload as { digests: string[] };
      const delay = Math.max(1, 40 - 10 * calls++);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, delay));
      inFlight--;
      return { have: digests.map((d) => (stored.has(d) ? '1' : '0')).join('') };
    },
  } as unknown as TaskContext;
  return { ctx, stats: () => ({ maxInFlight, calls }) };
}

describe('ChunkUploader', () => {
  it('keeps several lookups in flight and still emits every record in order, uploading only what the hub lacks', async () => {
    const chunks: (Buffer | null)[] = Array.from({ length: LOOKUP_BATCH * 5 + 17 }, (_, i) => (i % 7 === 3 ? null : randomBytes(512)));
    const stored = new Set(chunks.filter((c, i): c is Buffer => c !== null && i % 5 === 0).map(sha));
    const { ctx, stats } = hubStub(stored);
    const frames: Buffer[] = [];
    const up = new ChunkUploader(ctx, 'b1', async (f) => void frames.push(Buffer.from(f)));
    for (const c of chunks) {
      if (c === null) await up.zero(4096);
      else await up.candidate(sha(c), c);
    }
    await up.finish();

    const records = frames.flatMap((f) => [...decodeRecords(f)]);
    expect(records).toHaveLength(chunks.length);
    records.forEach((r, i) => {
      const c = chunks[i] ?? null;
      if (c === null) return expect(r.type).toBe(RECORD.zero);
      expect(r.digest).toBe(sha(c));
      if (stored.has(sha(c))) expect(r.type).toBe(RECORD.ref);
      else expect(r.data?.equals(c)).toBe(true);
    });
    expect(up.uploadedChunks).toBe(chunks.filter((c) => c !== null && !stored.has(sha(c))).length);
    expect(stats().calls).toBeGreaterThanOrEqual(5);
    expect(stats().maxInFlight).toBe(LOOKUPS_IN_FLIGHT);
  });

  it('sends patches (at + candidate without lookup) as data in order, between looked-up chunks, without asking the hub about them', async () => {
    const base = randomBytes(512);
    const pages = Array.from({ length: 300 }, () => randomBytes(64));
    const { ctx, stats } = hubStub(new Set([sha(base)]));
    const frames: Buffer[] = [];
    const up = new ChunkUploader(ctx, 'b1', async (f) => void frames.push(Buffer.from(f)));
    await up.candidate(sha(base), base);
    for (const [i, p] of pages.entries()) {
      await up.patchAt(i * 64);
      await up.candidate(sha(p), p, false);
    }
    await up.finish();
    const records = frames.flatMap((f) => [...decodeRecords(f)]);
    expect(records[0]).toMatchObject({ type: RECORD.ref, digest: sha(base) });
    records.slice(1).forEach((r, i) => {
      if (i % 2 === 0) expect(r).toMatchObject({ type: RECORD.at, length: (i / 2) * 64 });
      else expect(r.data?.equals(pages[(i - 1) / 2]!)).toBe(true);
    });
    expect(records).toHaveLength(1 + 2 * pages.length);
    // One lookup: the base chunk's. Progress counts one chunk, not the patches.
    expect(stats().calls).toBe(1);
    expect(up.emitted).toBe(1);
  });

  it('stops at the first failed lookup and emits nothing after it', async () => {
    let n = 0;
    const ctx = {
      call: async () => {
        if (n++ === 1) throw new Error('hub went away');
        return { have: '0'.repeat(LOOKUP_BATCH) };
      },
    } as unknown as TaskContext;
    const frames: Buffer[] = [];
    const up = new ChunkUploader(ctx, 'b1', async (f) => void frames.push(Buffer.from(f)));
    const run = async () => {
      for (let i = 0; i < LOOKUP_BATCH * 4; i++) {
        const c = randomBytes(64);
        await up.candidate(sha(c), c);
      }
      await up.finish();
    };
    await expect(run()).rejects.toThrow('hub went away');
    const records = frames.flatMap((f) => [...decodeRecords(f)]);
    // Only the first batch may have gone out: records after a failed batch would be out of order.
    expect(records.length).toBeLessThanOrEqual(LOOKUP_BATCH);
  });
});
