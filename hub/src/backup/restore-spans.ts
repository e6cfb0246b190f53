import { CODEC, isRepositoryError, type Repository } from './repository/index.ts';

/** Largest pack read that serves a run of chunks. */
const SPAN_BYTES = 1024 * 1024;
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

  /** `digests`: the chunks in the order `fill` will be called for them (null entries are skipped). */
  constructor(
    private readonly repo: Repository,
    digests: readonly (string | null)[],
  ) {
    let cur: Span | null = null;
    this.at = new Array<number>(digests.length).fill(0);
    this.spans = digests.map((d, i) => {
      const loc = d === null ? null : repo.storedLocation(d);
      if (!loc) return null;
      if (cur && cur.pack === loc.pack && cur.offset + cur.length === loc.offset && cur.length + loc.length <= SPAN_BYTES) {
        this.at[i] = cur.length;
        cur.length += loc.length;
        cur.count++;
        cur.left++;
        return cur;
      }
      cur = { pack: loc.pack, offset: loc.offset, length: loc.length, count: 1, left: 1, read: null, buffer: null };
      return cur;
    });
  }

  /** Fills `target` with the stored form of chunk `i` (`digest`), as Repository.readStoredInto does. */
  async fill(i: number, digest: string, target: Buffer): Promise<void> {
    const span = this.spans[i];
    if (!span || span.count === 1) return this.repo.readStoredInto(digest, target);
    try {
      if (!span.read) {
        span.buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(SPAN_BYTES);
        span.read = this.repo.readPackRange(span.pack, span.offset, span.buffer.subarray(0, span.length));
      }
      let bytes: Buffer | null = null;
      try {
        bytes = await span.read;
      } catch (e) {
        if (!isRepositoryError(e, 'object_not_found')) throw e;
      }
      const from = this.at[i]!;
      const ok = bytes !== null && bytes.length >= from + target.length && (bytes[from] === CODEC.raw || bytes[from] === CODEC.zstd);
      if (!ok || !bytes) return await this.repo.readStoredInto(digest, target);
      bytes.copy(target, 0, from, from + target.length);
    } finally {
      if (--span.left === 0 && span.buffer) {
        if (this.free.length < KEEP) this.free.push(span.buffer);
        span.buffer = null;
      }
    }
  }
}
