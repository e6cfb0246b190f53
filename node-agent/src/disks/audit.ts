import { createHash } from 'node:crypto';
import { isAllZero } from '../../../common/src/chunking/index.ts';
import type { DiskSource } from './types.ts';

/**
 * The drift audit of changed-block tracking: CBT can miss writes (a bitmap disabled for a
 * while, a writer that bypassed it, a bug), and a missed write means an incremental silently
 * carries stale data forward. The audit re-reads a random sample of the chunks tracking calls
 * unchanged and compares them with the parent's digests; any mismatch means the tracking
 * cannot be trusted for this backup.
 */
export interface AuditResult {
  sampled: number;
  bytesRead: number;
  /** Chunk indexes whose bytes differ from the parent's digest. */
  mismatches: number[];
}

/** Picks ceil(percent% of `candidates`) distinct entries (at least one when percent > 0). */
export function pickSample(candidates: readonly number[], percent: number, random: () => number = Math.random): number[] {
  if (percent <= 0 || candidates.length === 0) return [];
  const n = Math.min(candidates.length, Math.max(1, Math.ceil((candidates.length * Math.min(percent, 100)) / 100)));
  if (n === candidates.length) return [...candidates];
  // Partial Fisher-Yates over a copy: n swaps, uniform without replacement.
  const a = [...candidates];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n).sort((x, y) => x - y);
}

/**
 * Reads each sampled chunk and compares it with `previous[i]` (null = the parent had zeros
 * there). Reads run `parallel` at a time.
 */
export async function auditChunks(
  disk: DiskSource,
  sample: readonly number[],
  previous: readonly (string | null)[],
  chunkSize: number,
  parallel = 8,
): Promise<AuditResult> {
  const size = disk.describe().size;
  const res: AuditResult = { sampled: sample.length, bytesRead: 0, mismatches: [] };
  let next = 0;
  const worker = async () => {
    while (next < sample.length) {
      const i = sample[next++]!;
      const data = await disk.read(i * chunkSize, Math.min(chunkSize, size - i * chunkSize));
      res.bytesRead += data.length;
      const want = previous[i] ?? null;
      const same = want === null ? isAllZero(data) : !isAllZero(data) && createHash('sha256').update(data).digest('hex') === want;
      if (!same) res.mismatches.push(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, sample.length) }, worker));
  res.mismatches.sort((a, b) => a - b);
  return res;
}
