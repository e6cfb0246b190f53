import { describe, expect, it } from 'vitest';
import { mapPieces, parseQcow2Map, PIECE } from '../../../node-agent/src/disks/qcow2-map.ts';

const K = 65536;
const line = (o: Record<string, unknown>) => JSON.stringify({ depth: 0, present: true, zero: false, data: true, ...o });

describe('parseQcow2Map (qemu-img map --output=json)', () => {
  it('reads data at a host offset directly; zero ranges as zeros even with an offset; the rest through NBD', () => {
    const json = `[${[
      line({ start: 0, length: K, zero: true, data: false, offset: 327680 }), // zero-flagged preallocated cluster
      line({ start: K, length: K, offset: 393216 }),
      line({ start: 2 * K, length: K, offset: 458752 }), // host-contiguous with the one before: merged
      line({ start: 3 * K, length: K, offset: 1000000 }), // not contiguous on the host
      line({ start: 4 * K, length: K }), // compressed: qemu gives no offset
      line({ start: 5 * K, length: K, offset: 2000000, compressed: true }),
      line({ start: 6 * K, length: K, depth: 1, offset: 3000000 }), // in the backing file
      line({ start: 7 * K, length: K, present: false, zero: true, data: false }),
    ].join(',\n')}]`;
    expect(parseQcow2Map(json, 8 * K)).toEqual([
      { offset: 0, length: K, kind: PIECE.zero, host: 0 },
      { offset: K, length: 2 * K, kind: PIECE.host, host: 393216 },
      { offset: 3 * K, length: K, kind: PIECE.host, host: 1000000 },
      { offset: 4 * K, length: 3 * K, kind: PIECE.nbd, host: 0 },
      { offset: 7 * K, length: K, kind: PIECE.zero, host: 0 },
    ]);
  });

  it('refuses a map with gaps, overlaps or the wrong size', () => {
    expect(() => parseQcow2Map(`[${line({ start: 0, length: K, offset: 0 })},${line({ start: 2 * K, length: K, offset: K })}]`, 3 * K)).toThrow(/does not follow/);
    expect(() => parseQcow2Map(`[${line({ start: 0, length: 2 * K, offset: 0 })},${line({ start: K, length: K, offset: K })}]`, 3 * K)).toThrow(/does not follow/);
    expect(() => parseQcow2Map(`[${line({ start: 0, length: K, offset: 0 })}]`, 2 * K)).toThrow(/covers/);
    expect(() => parseQcow2Map('{}', K)).toThrow();
  });

  it('cuts a read into pieces with host offsets shifted to the piece', () => {
    const map = parseQcow2Map(`[${[line({ start: 0, length: 2 * K, offset: 10 * K }), line({ start: 2 * K, length: K, zero: true, data: false }), line({ start: 3 * K, length: K })].join(',')}]`, 4 * K);
    expect(mapPieces(map, 100, 50)).toEqual([{ offset: 100, length: 50, kind: PIECE.host, host: 10 * K + 100 }]);
    expect(mapPieces(map, K + 10, 2 * K)).toEqual([
      { offset: K + 10, length: K - 10, kind: PIECE.host, host: 11 * K + 10 },
      { offset: 2 * K, length: K, kind: PIECE.zero, host: 0 },
      { offset: 3 * K, length: 10, kind: PIECE.nbd, host: 0 },
    ]);
    expect(mapPieces(map, 3 * K, K)).toEqual([{ offset: 3 * K, length: K, kind: PIECE.nbd, host: 0 }]);
  });
});
