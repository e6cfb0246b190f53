import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { auditChunks, pickSample } from '../../../node-agent/src/disks/audit.ts';
import { CHUNK_ACTION, planChunks, planSteps } from '../../../node-agent/src/disks/chunk-plan.ts';
import type { DiskSource } from '../../../node-agent/src/disks/types.ts';
import { rng } from '../../integration/backup/disk-image.ts';

const K = 1024;

describe('chunk plan', () => {
  it('without tracking reads every chunk an allocated extent touches and leaves the rest as holes', () => {
    const plan = planChunks(10 * 64 * K, 64 * K, [{ offset: 100, length: 10 }, { offset: 3 * 64 * K - 1, length: 2 }], null);
    expect([...plan]).toEqual([2, 0, 2, 2, 0, 0, 0, 0, 0, 0]);
  });

  it('with tracking carries allocated chunks outside the changed extents and never reads holes', () => {
    const plan = planChunks(8 * 64 * K, 64 * K, [{ offset: 0, length: 6 * 64 * K }], [{ offset: 64 * K + 4 * K, length: 4 * K }, { offset: 7 * 64 * K, length: 64 * K }]);
    expect([...plan]).toEqual([1, 2, 1, 1, 1, 1, 0, 0]);
  });

  it('cuts read runs at the read size and keeps other runs whole', () => {
    const plan = Uint8Array.from([2, 2, 2, 2, 2, 1, 1, 0, 2]);
    expect(planSteps(plan, 2)).toEqual([
      { action: CHUNK_ACTION.read, start: 0, count: 2 },
      { action: CHUNK_ACTION.read, start: 2, count: 2 },
      { action: CHUNK_ACTION.read, start: 4, count: 1 },
      { action: CHUNK_ACTION.carry, start: 5, count: 2 },
      { action: CHUNK_ACTION.hole, start: 7, count: 1 },
      { action: CHUNK_ACTION.read, start: 8, count: 1 },
    ]);
  });
});

describe('drift audit', () => {
  it('samples ceil(percent) distinct candidates, at least one, none at 0 %', () => {
    const c = Array.from({ length: 1000 }, (_, i) => i * 3);
    const s = pickSample(c, 1, rng(1));
    expect(s).toHaveLength(10);
    expect(new Set(s).size).toBe(10);
    for (const x of s) expect(c).toContain(x);
    expect(pickSample(c, 0.01, rng(2))).toHaveLength(1);
    expect(pickSample(c, 0, rng(3))).toEqual([]);
    expect(pickSample(c.slice(0, 5), 100, rng(4))).toEqual(c.slice(0, 5));
  });

  it('reports exactly the sampled chunks whose bytes differ from the parent', async () => {
    const chunk = 4096;
    const data = Buffer.alloc(8 * chunk);
    for (let i = 0; i < 6; i++) data.fill(i + 1, i * chunk, (i + 1) * chunk);
    const digest = (i: number) => createHash('sha256').update(data.subarray(i * chunk, (i + 1) * chunk)).digest('hex');
    const previous: (string | null)[] = [digest(0), digest(1), digest(2), digest(3), digest(4), digest(5), null, null];
    data.fill(0x77, 2 * chunk + 10, 2 * chunk + 20); // changed behind the tracker's back
    data.fill(0x01, 7 * chunk, 7 * chunk + 1); // a zero chunk that is no longer zero
    const disk: DiskSource = {
      describe: () => ({ id: 'mem', path: 'mem', size: data.length, sectorSize: 512, kind: 'file' }),
      allocatedExtents: async () => [{ offset: 0, length: data.length }],
      changedExtents: async () => ({ extents: [], tracked: true }),
      read: async (o, n) => Buffer.from(data.subarray(o, o + n)),
      release: async () => undefined,
    };
    const r = await auditChunks(disk, [0, 1, 2, 3, 4, 5, 6, 7], previous, chunk, 3);
    expect(r).toEqual({ sampled: 8, bytesRead: 8 * chunk, mismatches: [2, 7] });
  });
});
