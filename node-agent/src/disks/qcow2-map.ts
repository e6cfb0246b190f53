import type { Extent } from './types.ts';

/**
 * Where the guest bytes of a qcow2 image lie in its file, from `qemu-img map --output=json`.
 * Reading clusters straight from the image file (pread, into the caller's buffer) costs a
 * memory copy per byte; the same bytes through qemu-nbd cost a pread in qemu, a socket write,
 * a socket read in Node and a copy out of the socket buffers, with qemu-nbd's CPU on top.
 *
 * Only what the map states without interpretation is read directly: a range that is `data` in
 * the image itself (depth 0) at a valid host `offset`. qemu leaves `offset` out where the
 * bytes are not stored as-is (compressed or encrypted clusters); ranges in a backing file
 * (depth > 0), and everything in images with an external data file or encryption, go through
 * qemu-nbd like before. `zero` ranges read as zeros whatever lies at their host offset (qcow2
 * keeps preallocated clusters flagged zero there).
 */
export const PIECE = { zero: 0, host: 1, nbd: 2 } as const;
export type PieceKind = (typeof PIECE)[keyof typeof PIECE];

export interface MapEntry extends Extent {
  kind: PieceKind;
  /** File offset of `offset` (kind host). */
  host: number;
}

interface QemuMapEntry {
  start: number;
  length: number;
  depth: number;
  zero: boolean;
  data: boolean;
  offset?: number;
  compressed?: boolean;
}

/** Parses `qemu-img map --output=json` into sorted, non-overlapping entries covering [0, size). */
export function parseQcow2Map(json: string, size: number): MapEntry[] {
  const raw = JSON.parse(json) as QemuMapEntry[];
  if (!Array.isArray(raw)) throw new Error('qemu-img map did not print a JSON list');
  const out: MapEntry[] = [];
  let at = 0;
  for (const e of raw) {
    if (!Number.isSafeInteger(e.start) || !Number.isSafeInteger(e.length) || e.length <= 0) throw new Error(`bad map entry ${JSON.stringify(e)}`);
    if (e.start !== at) throw new Error(`map entry at ${e.start} does not follow the previous one (ending at ${at})`);
    at = e.start + e.length;
    let kind: PieceKind = PIECE.nbd;
    if (e.zero) kind = PIECE.zero;
    else if (e.data && e.depth === 0 && e.compressed !== true && Number.isSafeInteger(e.offset) && e.offset! >= 0) kind = PIECE.host;
    const host = kind === PIECE.host ? e.offset! : 0;
    const last = out[out.length - 1];
    if (last && last.kind === kind && last.offset + last.length === e.start && (kind !== PIECE.host || last.host + last.length === host)) last.length += e.length;
    else out.push({ offset: e.start, length: e.length, kind, host });
  }
  if (at !== size) throw new Error(`map covers ${at} bytes of a ${size}-byte image`);
  return out;
}

/** The pieces of [offset, offset+length) in `map` (sorted entries covering the image). */
export function mapPieces(map: readonly MapEntry[], offset: number, length: number): MapEntry[] {
  const end = offset + length;
  // Binary search for the entry holding `offset`.
  let lo = 0;
  let hi = map.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (map[mid]!.offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  const out: MapEntry[] = [];
  for (let i = lo; i < map.length && map[i]!.offset < end; i++) {
    const e = map[i]!;
    const from = Math.max(offset, e.offset);
    const to = Math.min(end, e.offset + e.length);
    if (to > from) out.push({ offset: from, length: to - from, kind: e.kind, host: e.host + (from - e.offset) });
  }
  return out;
}
