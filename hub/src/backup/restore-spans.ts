import { CODEC, isRepositoryError, type Repository } from './repository/index.ts';

/** Largest pack read that serves a run of chunks. */
const SPAN_BYTES = 1024 * 1024;
/**
 * Bytes between two chunks that still read as one span: a pack puts a 36-byte entry header
 * before each stored form (docs/repository-format.md), so neighbours are never flush.
 */
const MAX_GAP = 4096;
/** Span buffers kept for reuse (a restore has about as many in flight as frames being filled). */
const KEEP = 8;

interface Span {
  pack: string;
  offset: number;
  length: number;
  /** Chunks served by this span; the buffer goes back to the pool when all have been copied. */
  count: number;
  left: number;
  read: Promise<Buffer> | null;
  buffer: Buffer | null;
}

/**
 * Reads a restore's chunks, in order, with one pack read per run of chunks that lie back to back
 * in one sealed pack. A restore goes in snapshot order, which for a disk is mostly the order its
 * chunks were written in: a 2 GiB restore made ~23,000 small reads of its packs (a context
 * switch to the thread pool each, on a 2-core machine). Each chunk is then copied out of the
 * span into its record frame. Anything unexpected about a span (a repack deleted its pack, a
 * short read, an unknown codec byte) falls back to that chunk's own `readStoredInto`, which
 * reports the right error.
 */
export class SpanReader {
  private readonly spans: (Span | null)[];
  private readonly at: number[];
  private readonly free: Buffer[] = [];
  /** Pack reads made: one per span of several chunks, one per chunk read on its own. */
  readonly reads = { spans: 0, single: 0 };

  /** `digests`: the chunks in the order `fill` will be called for them (null entries are skipped). */
  constructor(
    private readonly repo: Repository,
    digests: readonly (string | null)[],
  ) {
    // The span being built per pack: a patched snapshot alternates between its base chunks' pack
    // and its patches' pack, and each keeps its own run.
    const open = new Map<string, Span>();
    this.at = new Array<number>(digests.length).fill(0);
    this.spans = digests.map((d, i) => {
      const loc = d === null ? null : repo.storedLocation(d);
      if (!loc) return null;
      const cur = open.get(loc.pack);
      const gap = cur ? loc.offset - (cur.offset + cur.length) : -1;
      if (cur && gap >= 0 && gap <= MAX_GAP && loc.offset + loc.length - cur.offset <= SPAN_BYTES) {
        this.at[i] = loc.offset - cur.offset;
        cur.length = loc.offset + loc.length - cur.offset;
        cur.count++;
        cur.left++;
        return cur;
      }
      const span: Span = { pack: loc.pack, offset: loc.offset, length: loc.length, count: 1, left: 1, read: null, buffer: null };
      open.set(loc.pack, span);
      return span;
    });
  }

  /** Fills `target` with the stored form of chunk `i` (`digest`), as Repository.readStoredInto does. */
  async fill(i: number, digest: string, target: Buffer): Promise<void> {
    const span = this.spans[i];
    if (!span || span.count === 1) {
      this.reads.single++;
      return this.repo.readStoredInto(digest, target);
    }
    try {
      if (!span.read) {
        // Pooled buffers for long spans only: a short one (a few chunks between patches) would pin 1 MiB.
        span.buffer = span.length > SPAN_BYTES / 4 ? (this.free.pop() ?? Buffer.allocUnsafeSlow(SPAN_BYTES)) : Buffer.allocUnsafe(span.length);
        span.read = this.repo.readPackRange(span.pack, span.offset, span.buffer.subarray(0, span.length));
        this.reads.spans++;
      }
      let bytes: Buffer | null = null;
      try {
        bytes = await span.read;
      } catch (e) {
        if (!isRepositoryError(e, 'object_not_found')) throw e;
      }
      const from = this.at[i]!;
      const ok = bytes !== null && bytes.length >= from + target.length && (bytes[from] === CODEC.raw || bytes[from] === CODEC.zstd);
      if (!ok || !bytes) {
        this.reads.single++;
        return await this.repo.readStoredInto(digest, target);
      }
      bytes.copy(target, 0, from, from + target.length);
    } finally {
      if (--span.left === 0 && span.buffer) {
        if (span.buffer.length === SPAN_BYTES && this.free.length < KEEP) this.free.push(span.buffer);
        span.buffer = null;
      }
    }
  }
}
