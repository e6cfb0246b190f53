import type { Extent } from './types.ts';

/** What a backup does with one fixed-size chunk of a disk. */
export const CHUNK_ACTION = {
  /** Outside every allocated extent: reads as zeros, not read. */
  hole: 0,
  /** Not changed since the parent (change tracking): the parent's digest is reused, not read. */
  carry: 1,
  /** Read and hashed. */
  read: 2,
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

export type PlanStep = { action: 0 | 1 | 2; start: number; count: number };

/** Runs of equal actions; read runs are cut at `maxReadChunks` so one read stays bounded. */
export function planSteps(plan: Uint8Array, maxReadChunks: number): PlanStep[] {
  const steps: PlanStep[] = [];
  let i = 0;
  while (i < plan.length) {
    const action = plan[i] as 0 | 1 | 2;
    let j = i + 1;
    const cap = action === CHUNK_ACTION.read ? i + maxReadChunks : plan.length;
    while (j < plan.length && j < cap && plan[j] === action) j++;
    steps.push({ action, start: i, count: j - i });
    i = j;
  }
  return steps;
}
