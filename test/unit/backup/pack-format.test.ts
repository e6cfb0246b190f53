import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeIndex,
  encodeIndex,
  encodeTrailer,
  ENTRY_HEADER_SIZE,
  entryHeader,
  PACK_MAGIC,
  trailerIndexRange,
  type PackEntry,
} from '../../../hub/src/backup/repository/pack-format.ts';

const digest = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('pack format', () => {
  const entries: PackEntry[] = [
    { digest: digest('a'), offset: 8 + ENTRY_HEADER_SIZE, length: 65537 },
    { digest: digest('b'), offset: 8 + 2 * ENTRY_HEADER_SIZE + 65537, length: 1234 },
  ];

  it('round-trips an index, 40 bytes per entry plus header and checksum', () => {
    const raw = encodeIndex(entries);
    expect(raw.length).toBe(12 + 2 * 40 + 32);
    expect(decodeIndex(raw)).toEqual(entries);
    expect(decodeIndex(encodeIndex([]))).toEqual([]);
  });

  it('rejects a damaged, truncated or foreign index instead of misreading it', () => {
    const raw = encodeIndex(entries);
    for (const at of [0, 9, 12, 50, raw.length - 1]) {
      const bad = Buffer.from(raw);
      bad[at] = bad[at]! ^ 0x01;
      expect(decodeIndex(bad)).toBeNull();
    }
    expect(decodeIndex(raw.subarray(0, raw.length - 1))).toBeNull();
    expect(decodeIndex(Buffer.alloc(100))).toBeNull();
  });

  it('writes an entry header as raw digest then little-endian stored length', () => {
    const h = entryHeader(entries[0]!.digest, 65537);
    expect(h.length).toBe(ENTRY_HEADER_SIZE);
    expect(h.subarray(0, 32).toString('hex')).toBe(entries[0]!.digest);
    expect(h.readUInt32LE(32)).toBe(65537);
  });

  it('finds the index from the last 12 bytes of a sealed pack', () => {
    const index = encodeIndex(entries);
    const body = Buffer.concat([PACK_MAGIC, Buffer.alloc(5000, 7)]);
    const pack = Buffer.concat([body, encodeTrailer(index)]);
    const range = trailerIndexRange(pack.subarray(pack.length - 12), pack.length);
    expect(range).toEqual({ offset: body.length, length: index.length });
    expect(decodeIndex(pack.subarray(range!.offset, range!.offset + range!.length))).toEqual(entries);
    // an unsealed pack (no trailer) is not mistaken for one
    expect(trailerIndexRange(body.subarray(body.length - 12), body.length)).toBeNull();
  });
});
