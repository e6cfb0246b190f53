import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Compressor } from 'zstd-napi';
import zstd from 'zstd-napi/binding.js';
import { decodeRecords, RECORD, STORED_HEADER_BYTES, type ChunkRecord } from '../../../node-agent/src/tasks/backup-wire.ts';
import { RecordPacker } from '../../../node-agent/src/tasks/record-packer.ts';
import { decodeStored, encodeStoredInto, STORED_CODEC, storedBound, StoredChunkInvalid } from '../../../node-agent/src/tasks/stored-chunk.ts';
import { decodeChunk } from '../../../hub/src/backup/repository/codec.ts';
import { logText } from '../../integration/backup/repository-helpers.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function pack(fill: (p: RecordPacker) => Promise<void>): Promise<{ frames: Buffer[]; packer: RecordPacker }> {
  const frames: Buffer[] = [];
  const packer = new RecordPacker(async (f) => void frames.push(Buffer.from(f)));
  await fill(packer);
  await packer.flush();
  return { frames, packer };
}

const records = (frames: Buffer[]): ChunkRecord[] => frames.flatMap((f) => [...decodeRecords(f)]);

/** The stored form of `data` at zstd level 1 (as RecordPacker.addCompressed writes it). */
function storedOf(data: Buffer): Buffer {
  const out = Buffer.alloc(storedBound(data.length));
  return out.subarray(0, encodeStoredInto(out, 0, data, 1));
}

/** A zstd frame without a content size in its header (as a streaming compressor writes it). */
function unsizedFrame(data: Buffer): Buffer {
  const c = new zstd.CCtx();
  c.setParameter(zstd.CParameter.contentSizeFlag, 0);
  const out = Buffer.alloc(zstd.compressBound(data.length));
  const n = c.compress2(out, data);
  expect(zstd.getFrameContentSize(out.subarray(0, n))).toBeNull();
  return out.subarray(0, n);
}

describe('type-3 (stored) records', () => {
  it('compress text into the frame, keep random data raw, and decode back to the chunk', async () => {
    const text = logText(65536, 3);
    const random = randomBytes(65536);
    const tiny = Buffer.from('short');
    const { frames, packer } = await pack(async (p) => {
      await p.add(RECORD.zero, '', 65536);
      await p.addCompressed(sha(text), text, 1);
      await p.add(RECORD.ref, sha(random), 65536);
      await p.addCompressed(sha(random), random, 1);
      await p.addCompressed(sha(tiny), tiny, 1);
      await p.addCompressed(sha(text), text, null);
      await p.add(RECORD.data, sha(tiny), tiny.length, tiny);
    });
    const recs = records(frames);
    expect(recs.map((r) => r.type)).toEqual([RECORD.zero, RECORD.stored, RECORD.ref, RECORD.stored, RECORD.stored, RECORD.stored, RECORD.data]);
    const [, textRec, , randomRec, tinyRec, textRaw, plain] = recs;
    expect(textRec).toMatchObject({ digest: sha(text), length: 65536 });
    expect(textRec!.stored![0]).toBe(STORED_CODEC.zstd);
    expect(textRec!.stored!.length).toBeLessThan(65536 / 3);
    // The repository reads exactly this stored form back (codec.ts), and so does the agent.
    expect(decodeChunk(Buffer.from(textRec!.stored!), sha(text)).equals(text)).toBe(true);
    expect(decodeStored(textRec!.stored!, 65536).equals(text)).toBe(true);
    expect(randomRec!.stored![0]).toBe(STORED_CODEC.raw);
    expect(randomRec!.stored!.length).toBe(65537);
    expect(decodeStored(randomRec!.stored!, 65536).equals(random)).toBe(true);
    expect(tinyRec!.stored![0]).toBe(STORED_CODEC.raw);
    expect(textRaw!.stored![0]).toBe(STORED_CODEC.raw);
    expect(plain!.data!.equals(tiny)).toBe(true);
    expect(packer.dataBytes).toBe(3 * 65536 + 2 * tiny.length);
    expect(packer.sentBytes).toBe(textRec!.stored!.length + 65537 + tiny.length + 1 + 65537 + tiny.length);
  });

  it('lay out the header as documented: type, digest, length, stored length, stored form', async () => {
    const stored = Buffer.from([STORED_CODEC.raw, 1, 2, 3]);
    const { frames } = await pack((p) => p.addStored('ab'.repeat(32), 3, stored));
    const f = frames[0]!;
    expect(f.length).toBe(STORED_HEADER_BYTES + 4);
    expect(f[0]).toBe(3);
    expect(f.toString('hex', 1, 33)).toBe('ab'.repeat(32));
    expect(f.readUInt32BE(33)).toBe(3);
    expect(f.readUInt32BE(37)).toBe(4);
    expect(f.subarray(41).equals(stored)).toBe(true);
  });

  it('cut frames near 1 MiB with whole records only, decoding into a reused buffer', async () => {
    const chunks = Array.from({ length: 64 }, (_, i) => (i % 2 ? randomBytes(65536) : logText(65536, i)));
    const { frames } = await pack(async (p) => {
      for (const c of chunks) await p.addCompressed(sha(c), c, 1);
    });
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) expect(f.length).toBeLessThanOrEqual(1024 * 1024);
    const scratch = Buffer.alloc(65536);
    records(frames).forEach((r, i) => {
      expect(sha(decodeStored(r.stored!, r.length, scratch))).toBe(sha(chunks[i]!));
    });
  });

  it('filled later (a read into the frame): frames go out in order once their fills are done', async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => logText(65536, 100 + i));
    const stored = chunks.map((c) => Buffer.from(storedOf(c)));
    const sent: Buffer[] = [];
    let inFlight = 0;
    let most = 0;
    const p = new RecordPacker(async (f) => void sent.push(Buffer.from(f)), 2);
    for (const [i, c] of chunks.entries()) {
      if (i % 7 === 3) await p.add(RECORD.zero, '', 4096);
      await p.addStoredFrom(sha(c), c.length, stored[i]!.length, async (target) => {
        inFlight++;
        most = Math.max(most, inFlight);
        // Later chunks finish first: order must come from the packer, not from the reads.
        await new Promise((r) => setTimeout(r, 40 - i));
        stored[i]!.copy(target);
        inFlight--;
      });
    }
    await p.flush();
    const recs = records(sent).filter((r) => r.type === RECORD.stored);
    expect(recs.map((r) => r.digest)).toEqual(chunks.map(sha));
    recs.forEach((r, i) => expect(decodeStored(r.stored!, r.length).equals(chunks[i]!)).toBe(true));
    expect(most).toBeGreaterThan(1);
  });

  it('filled later: a failed fill fails the packer instead of sending a frame with holes', async () => {
    const sent: Buffer[] = [];
    const p = new RecordPacker(async (f) => void sent.push(f), 2);
    await p.addStoredFrom('cd'.repeat(32), 10, 11, async () => {
      throw new Error('pack truncated');
    });
    await expect(p.flush()).rejects.toThrow('pack truncated');
    expect(sent).toHaveLength(0);
  });

  it('refuse a cut or empty stored record as a protocol error', async () => {
    const text = logText(65536, 9);
    const { frames } = await pack((p) => p.addCompressed(sha(text), text, 1));
    const f = frames[0]!;
    expect(() => [...decodeRecords(f.subarray(0, f.length - 1))]).toThrow(expect.objectContaining({ code: 'backup_stream_invalid' }));
    expect(() => [...decodeRecords(f.subarray(0, 39))]).toThrow(expect.objectContaining({ code: 'backup_stream_invalid' }));
    const empty = Buffer.from(f.subarray(0, STORED_HEADER_BYTES));
    empty.writeUInt32BE(0, 37);
    expect(() => [...decodeRecords(empty)]).toThrow(/no codec byte/);
  });
});

describe('decodeStored refuses a stored form that lies about its length', () => {
  const text = logText(65536, 5);
  const zframe = new Compressor().compress(text);
  const stored = Buffer.concat([Buffer.from([STORED_CODEC.zstd]), zframe]);

  it('a zstd frame declaring another length, or decoding to more or fewer bytes', () => {
    expect(() => decodeStored(stored, 65535)).toThrow(StoredChunkInvalid);
    expect(() => decodeStored(stored, 65537)).toThrow(StoredChunkInvalid);
    const unsized = Buffer.concat([Buffer.from([STORED_CODEC.zstd]), unsizedFrame(text)]);
    expect(decodeStored(unsized, 65536).equals(text)).toBe(true);
    expect(() => decodeStored(unsized, 65535)).toThrow(/does not decode/);
    expect(() => decodeStored(unsized, 65537)).toThrow(/decodes to 65536 bytes, not 65537/);
  });

  it('a zstd bomb: 256 MiB of zeros in a few KiB stops at the declared length', () => {
    const bomb = Buffer.concat([Buffer.from([STORED_CODEC.zstd]), unsizedFrame(Buffer.alloc(256 * 1024 * 1024))]);
    expect(bomb.length).toBeLessThan(64 * 1024);
    const before = process.memoryUsage().arrayBuffers;
    expect(() => decodeStored(bomb, 65536, Buffer.alloc(65536))).toThrow(StoredChunkInvalid);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('a raw payload of another length, a damaged frame, an unknown codec, nothing at all', () => {
    expect(() => decodeStored(Buffer.concat([Buffer.from([STORED_CODEC.raw]), text]), 65535)).toThrow(/raw chunk of 65536 bytes/);
    const damaged = Buffer.from(stored);
    damaged[damaged.length >> 1]! ^= 0xff;
    // Either it no longer decodes or it decodes to other bytes: the digest check catches the rest.
    let out: Buffer | null = null;
    try {
      out = decodeStored(damaged, 65536);
    } catch (e) {
      expect(e).toBeInstanceOf(StoredChunkInvalid);
    }
    if (out) expect(sha(out)).not.toBe(sha(text));
    expect(() => decodeStored(Buffer.from([7, 1, 2]), 2)).toThrow(/unknown codec byte 7/);
    expect(() => decodeStored(Buffer.alloc(0), 0)).toThrow(/empty/);
  });
});
