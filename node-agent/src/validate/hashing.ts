/**
 * Row hashing and order-independent digests. A row's hash is SHA-256 of an unambiguous
 * rendering of its canonical values (length-prefixed, NULL distinct from ''); a set of rows
 * digests to the sum of the first 8 bytes of each row hash, mod 2^64, so the digest does not
 * depend on the order rows arrive in and two sides can be compared without sorting.
 */
import { createHash, hash } from 'node:crypto';
import type { CanonicalRow } from './rows.ts';

export function renderRow(row: CanonicalRow): string {
  let s = '';
  for (const v of row) s += v === null ? '\u0000N|' : `${v.length}:${v}|`;
  return s;
}

export function rowHash(row: CanonicalRow): Buffer {
  return hash('sha256', renderRow(row), 'buffer');
}

const TWO32 = 4294967296;
const MASK64 = (1n << 64n) - 1n;

/** Sum mod 2^64 of 64-bit prefixes, kept as two float halves so the hot loop needs no BigInt. */
export class SumDigest {
  private hi = 0;
  private lo = 0;
  private pending = 0;
  private total = 0n;
  count = 0;

  add(h: Buffer): void {
    this.hi += h.readUInt32BE(0);
    this.lo += h.readUInt32BE(4);
    this.count++;
    // Halves stay exact in a double for 2^20 additions; fold into the BigInt before that.
    if (++this.pending >= 1 << 20) this.fold();
  }

  private fold(): void {
    this.total = (this.total + BigInt(this.hi) * BigInt(TWO32) + BigInt(this.lo)) & MASK64;
    this.hi = 0;
    this.lo = 0;
    this.pending = 0;
  }

  /** Decimal string of the sum mod 2^64. */
  value(): string {
    this.fold();
    return this.total.toString();
  }
}

/** Key hash for hash-bucketed tables (non-integer or composite keys): 32 bits of SHA-256. */
export function keyBucket(key: CanonicalRow, count: number): number {
  if (count <= 1) return 0;
  return createHash('sha256').update(renderRow(key)).digest().readUInt32BE(0) % count;
}

/** 32-bit FNV-1a with a final avalanche: cheap per-value hash for distinct estimates. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const EXACT_LIMIT = 10_000;
const P = 14;
const M = 1 << P;

/**
 * Distinct-value estimate: exact up to 10 000 values, HyperLogLog (p = 14, about 0.8 % error)
 * beyond. Deterministic, so equal data gives equal estimates on both sides.
 */
export class DistinctEstimator {
  private exact: Set<string> | null = new Set();
  private registers: Uint8Array | null = null;

  add(v: string): void {
    if (this.exact) {
      this.exact.add(v);
      if (this.exact.size <= EXACT_LIMIT) return;
      this.registers = new Uint8Array(M);
      for (const x of this.exact) this.addHll(x);
      this.exact = null;
      return;
    }
    this.addHll(v);
  }

  private addHll(v: string): void {
    const h = hash32(v);
    const idx = h >>> (32 - P);
    const w = (h << P) >>> 0;
    const rank = w === 0 ? 32 - P + 1 : Math.clz32(w) + 1;
    const r = this.registers!;
    if (rank > r[idx]!) r[idx] = rank;
  }

  estimate(): number {
    if (this.exact) return this.exact.size;
    const r = this.registers!;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < M; i++) {
      sum += 2 ** -r[i]!;
      if (r[i] === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / M);
    const e = (alpha * M * M) / sum;
    return Math.round(e <= 2.5 * M && zeros > 0 ? M * Math.log(M / zeros) : e);
  }
}
