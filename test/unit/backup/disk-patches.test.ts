import { describe, expect, it } from 'vitest';
import { parseManifest, manifestDigests, patchesBySlot } from '../../../hub/src/backup/repository/manifest.ts';
import { CHUNK_ACTION, MAX_PATCHES_PER_CHUNK, planChunks, planPatches, planSteps } from '../../../node-agent/src/disks/chunk-plan.ts';
import { decodeDigestList, decodePatchList, decodeRecords, encodeDigestList, encodePatchList, PATCHED_MARK, RECORD } from '../../../node-agent/src/tasks/backup-wire.ts';
import { RecordPacker } from '../../../node-agent/src/tasks/record-packer.ts';

const K = 1024;
const C = 64 * K;
const d = (c: string) => c.repeat(64);

describe('patches of disk chunks (changed-block tracking)', () => {
  it('plans a patch where at most a quarter of a chunk changed and the chunk stays under the patch limit, else a whole read', () => {
    const size = 6 * C;
    const changed = [
      { offset: 4 * K, length: 4 * K }, // chunk 0: 4 KiB
      { offset: 12 * K, length: 4 * K }, // chunk 0: another 4 KiB range
      { offset: C + 8 * K, length: 20 * K }, // chunk 1: 20 KiB > a quarter
      { offset: 2 * C + 60 * K, length: 8 * K }, // chunks 2 and 3: 4 KiB each, across the boundary
      { offset: 4 * C, length: 4 * K }, // chunk 4: small, but already at the patch limit
    ];
    const plan = planChunks(size, C, [{ offset: 0, length: size }], changed);
    const ranges = planPatches(plan, C, size, changed, (i) => (i === 4 ? MAX_PATCHES_PER_CHUNK : 0));
    expect([...plan]).toEqual([CHUNK_ACTION.patch, CHUNK_ACTION.read, CHUNK_ACTION.patch, CHUNK_ACTION.patch, CHUNK_ACTION.read, CHUNK_ACTION.carry]);
    expect(ranges.get(0)).toEqual([{ offset: 4 * K, length: 4 * K }, { offset: 12 * K, length: 4 * K }]);
    expect(ranges.get(2)).toEqual([{ offset: 60 * K, length: 4 * K }]);
    expect(ranges.get(3)).toEqual([{ offset: 0, length: 4 * K }]);
    expect(ranges.has(1) || ranges.has(4)).toBe(false);
    // A patch step is one chunk: its ranges are read and sent on their own.
    expect(planSteps(plan, 16).filter((s) => s.action === CHUNK_ACTION.patch).map((s) => s.count)).toEqual([1, 1, 1]);

  });

  it('never patches a chunk the parent does not have (basePatches -1)', () => {
    const plan = planChunks(2 * C, C, [{ offset: 0, length: 2 * C }], [{ offset: 0, length: 4 * K }]);
    expect(planPatches(plan, C, 2 * C, [{ offset: 0, length: 4 * K }], () => -1).size).toBe(0);
    expect(plan[0]).toBe(CHUNK_ACTION.read);
  });

  it('sends the parent patches beside a digest list that marks their chunks, and reads them back', () => {
    const bases = new Map<number, string | null>([
      [2, d('a')],
      [5, null],
    ]);
    const patches = [
      { slot: 2, at: 4096, length: 4096, digest: d('b') },
      { slot: 2, at: 4096, length: 4096, digest: null },
      { slot: 5, at: 0, length: 8192, digest: d('c') },
    ];
    const back = decodePatchList(encodePatchList(bases, patches));
    expect(back.bases).toEqual(bases);
    expect(back.patches.get(2)).toEqual(patches.slice(0, 2));
    expect(back.patches.get(5)).toEqual(patches.slice(2));
    // The mark is not a zero entry: an old agent would carry it and fail the missing-chunk check.
    expect(decodeDigestList(encodeDigestList([null, PATCHED_MARK]))).toEqual([null, PATCHED_MARK]);
    expect(() => decodePatchList(Buffer.alloc(43))).toThrow(/multiple of 44/);
  });

  it('carries "at" records that make the next record a patch', async () => {
    const frames: Buffer[] = [];
    const packer = new RecordPacker(async (f) => void frames.push(Buffer.from(f)));
    await packer.add(RECORD.ref, d('a'), C);
    await packer.add(RECORD.at, '', 8192);
    await packer.add(RECORD.data, d('b'), 4, Buffer.from([1, 2, 3, 4]));
    await packer.flush();
    const recs = frames.flatMap((f) => [...decodeRecords(f)]);
    expect(recs.map((r) => [r.type, r.length])).toEqual([
      [RECORD.ref, C],
      [RECORD.at, 8192],
      [RECORD.data, 4],
    ]);
  });

  it('manifests: patches are checked against their chunk, referenced by GC and verify, and grouped by chunk', () => {
    const base = { format: 1, id: 's1', createdAt: new Date(0).toISOString(), kind: 'disk', chunkSize: C, size: 2 * C - 4096, chunks: [d('a'), null] };
    const m = parseManifest({ ...base, patches: [[0, 0, d('b'), 4096], [1, 4096, null, 4096], [1, 0, d('c'), 4096]] });
    expect([...manifestDigests(m)].sort()).toEqual([d('a'), d('b'), d('c')]);
    expect(patchesBySlot(m).get(1)?.map((p) => p[1])).toEqual([4096, 0]);
    // The last chunk is 60 KiB: a patch must end inside it.
    expect(() => parseManifest({ ...base, patches: [[1, 60 * K, d('b'), 4096]] })).toThrow(/outside its chunk/);
    expect(() => parseManifest({ ...base, patches: [[2, 0, d('b'), 4096]] })).toThrow(/outside its chunk/);
    expect(() => parseManifest({ ...base, patches: [[1, 0, d('b'), 4096], [0, 0, d('b'), 4096]] })).toThrow(/out of order/);
  });
});
