import type { Extent } from './types.ts';

/** What a backup does with one fixed-size chunk of a disk. */
export const CHUNK_ACTION = {
  /** Outside every allocated extent: reads as zeros, not read. */
  hole: 0,
  /** Not changed since the parent (change tracking): the parent's digest is reused, not read. */
  carry: 1,
  /** Read and hashed. */
  read: 2,
  /** Changed in a few small ranges (change tracking): only those are read, sent as patches of the parent's chunk. */
  patch: 3,
} as const;

/**
 * One action per chunk of a `size`-byte disk cut into `chunkSize` chunks. With `changed`
 * (tracked changes since the parent), allocated chunks outside it are carried; without it
 * every allocated chunk is read.
 */
export function planChunks(size: number, chunkSize: number, allocated: readonly Extent[], changed: readonly Extent[] | null): Uint8Array {
  const chunks = Math.ceil(size / chunkSize);
  const plan = new Uint8Array(chunks); // all holes
  mark(plan, chunkSize, allocated, changed ? CHUNK_ACTION.carry : CHUNK_ACTION.read);
  if (changed) {
    const dirty = new Uint8Array(chunks);
    mark(dirty, chunkSize, changed, 1);
    for (let i = 0; i < chunks; i++) if (dirty[i] && plan[i] === CHUNK_ACTION.carry) plan[i] = CHUNK_ACTION.read;
  }
  return plan;
}

function mark(plan: Uint8Array, chunkSize: number, extents: readonly Extent[], value: number): void {
  for (const e of extents) {
    if (e.length <= 0) continue;
    const first = Math.floor(e.offset / chunkSize);
    const last = Math.min(plan.length - 1, Math.floor((e.offset + e.length - 1) / chunkSize));
    for (let i = first; i <= last; i++) plan[i] = value;
  }
}

export type PlanStep = { action: 0 | 1 | 2 | 3; start: number; count: number };

/** Runs of equal actions; read runs are cut at `maxReadChunks` so one read stays bounded, patch runs at one chunk. */
export function planSteps(plan: Uint8Array, maxReadChunks: number): PlanStep[] {
  const steps: PlanStep[] = [];
  let i = 0;
  while (i < plan.length) {
    const action = plan[i] as PlanStep['action'];
    let j = i + 1;
    const cap = action === CHUNK_ACTION.read ? i + maxReadChunks : action === CHUNK_ACTION.patch ? i + 1 : plan.length;
    while (j < plan.length && j < cap && plan[j] === action) j++;
    steps.push({ action, start: i, count: j - i });
    i = j;
  }
  return steps;
}

/** Most patches a chunk may carry; a change that would exceed it reads the whole chunk (which drops its patches). */
export const MAX_PATCHES_PER_CHUNK = 8;

/**
 * Turns tracked read chunks into patch chunks where the change is small: at most a quarter of
 * the chunk changed and the chunk keeps at most MAX_PATCHES_PER_CHUNK patches. `basePatches(i)`
 * is how many patches chunk i already has in the parent, or -1 when the parent's chunk is not
 * known (never patched then). Returns the changed ranges of each patch chunk, relative to it.
 */
export function planPatches(plan: Uint8Array, chunkSize: number, size: number, changed: readonly Extent[], basePatches: (i: number) => number): Map<number, Extent[]> {
  const ranges = new Map<number, Extent[]>();
  for (const e of changed) {
    const end = Math.min(size, e.offset + e.length);
    for (let i = Math.floor(e.offset / chunkSize); i * chunkSize < end; i++) {
      if (plan[i] !== CHUNK_ACTION.read) continue;
      const start = Math.max(e.offset, i * chunkSize) - i * chunkSize;
      const stop = Math.min(end, (i + 1) * chunkSize) - i * chunkSize;
      let list = ranges.get(i);
      if (!list) ranges.set(i, (list = []));
      const last = list[list.length - 1];
      if (last && last.offset + last.length === start) last.length += stop - start;
      else list.push({ offset: start, length: stop - start });
    }
  }
  for (const [i, list] of ranges) {
    const bytes = list.reduce((n, r) => n + r.length, 0);
    const before = basePatches(i);
    if (before >= 0 && bytes * 4 <= chunkSize && before + list.length <= MAX_PATCHES_PER_CHUNK) plan[i] = CHUNK_ACTION.patch;
    else ranges.delete(i);
  }
  return ranges;
}
