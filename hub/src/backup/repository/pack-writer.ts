import { randomBytes } from 'node:crypto';
import type { AppendObject, RepositoryBackend } from './backend.ts';
import type { Pack } from './chunk-index.ts';
import { packIndexKey, packKey } from './keys.ts';
import { encodeIndex, encodeTrailer, ENTRY_HEADER_SIZE, entryHeader, PACK_MAGIC, type PackEntry } from './pack-format.ts';

export const newPackId = (): string => randomBytes(16).toString('hex');

/**
 * The pack being filled: appends entries at reserved offsets (several writes in flight), and
 * seals with one fsync (docs/repository-format.md, "Writing packs"). An entry is listed in the
 * pack's index only once its write succeeded.
 */
const SEGMENT_BYTES = 1024 * 1024;
const MAX_UNWRITTEN_BYTES = 16 * 1024 * 1024;

interface Segment {
  start: number;
  end: number;
  parts: Buffer[];
}

/**
 * The pack being filled: appends are gathered in memory into 1 MiB segments, each written with
 * one positional write (several in flight), and the pack is sealed with one fsync
 * (docs/repository-format.md, "Writing packs"). An appended entry is readable at once (from
 * memory until its segment is on disk); if any write fails, sealing fails and the repository
 * drops every chunk of the pack.
 */
export class PackWriter {
  readonly pack: Pack;
  /** Bytes reserved so far (header + entries); the next entry goes here. */
  size = PACK_MAGIC.length;
  private readonly entries: PackEntry[] = [];
  private readonly writes = new Set<Promise<void>>();
  /** Segments not yet on disk, oldest first; the last one may still be filling. */
  private segments: Segment[] = [];
  private unwritten = 0;
  private writeError: unknown = null;
  private sealing: Promise<void> | null = null;
  /** Set when sealing failed: its chunks are not in the repository. */
  failed = false;

  private constructor(
    private readonly backend: RepositoryBackend,
    private readonly file: AppendObject,
    id: string,
  ) {
    this.pack = { id, entries: [], fileBytes: 0, writer: this };
    this.segments.push({ start: 0, end: PACK_MAGIC.length, parts: [PACK_MAGIC] });
  }

  static async create(backend: RepositoryBackend): Promise<PackWriter> {
    const id = newPackId();
    const file = await backend.createAppend(packKey(id));
    return new PackWriter(backend, file, id);
  }

  /** Entries appended so far. */
  get written(): readonly PackEntry[] {
    return this.entries;
  }

  get sealed(): boolean {
    return this.sealing !== null;
  }

  /**
   * Appends a chunk's stored form (the buffers are kept, not copied, until written). The
   * offset is reserved synchronously; the promise resolves at once unless too many bytes wait
   * for the disk, which is the backpressure on uploads.
   */
  append(digest: string, stored: readonly Buffer[]): Promise<PackEntry> {
    if (this.sealing) throw new Error(`pack ${this.pack.id} is sealed; append to a new pack`);
    const length = stored.reduce((n, b) => n + b.length, 0);
    const start = this.size;
    this.size += ENTRY_HEADER_SIZE + length;
    const entry: PackEntry = { digest, offset: start + ENTRY_HEADER_SIZE, length };
    const seg = this.segments.at(-1)!;
    seg.parts.push(entryHeader(digest, length), ...stored);
    seg.end = this.size;
    this.unwritten += ENTRY_HEADER_SIZE + length;
    this.entries.push(entry);
    if (seg.end - seg.start >= SEGMENT_BYTES) this.writeSegment();
    return this.unwritten > MAX_UNWRITTEN_BYTES ? this.drained().then(() => entry) : Promise.resolve(entry);
  }

  /** Reads bytes of an appended entry, from memory or from the file. */
  async read(offset: number, length: number): Promise<Buffer> {
    const seg = this.segments.find((s) => s.start <= offset && offset + length <= s.end);
    if (!seg) return this.file.read(offset, length);
    const out = Buffer.allocUnsafe(length);
    let pos = seg.start;
    let done = 0;
    for (const p of seg.parts) {
      const from = Math.max(offset, pos);
      const to = Math.min(offset + length, pos + p.length);
      if (from < to) {
        p.copy(out, from - offset, from - pos, to - pos);
        done += to - from;
      }
      pos += p.length;
      if (pos >= offset + length) break;
    }
    return done === length ? out : out.subarray(0, done);
  }

  /** Writes the trailer, fsyncs, installs the pack and its `.idx`. Idempotent. */
  seal(): Promise<void> {
    this.sealing ??= this.doSeal();
    return this.sealing;
  }

  private async doSeal(): Promise<void> {
    const entries = [...this.entries];
    const index = encodeIndex(entries);
    const trailer = encodeTrailer(index);
    const seg = this.segments.at(-1)!;
    seg.parts.push(trailer);
    seg.end += trailer.length;
    this.unwritten += trailer.length;
    this.writeSegment();
    try {
      while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
      if (this.writeError !== null) throw this.writeError;
      await this.file.commit();
      await this.backend.put(packIndexKey(this.pack.id), index);
    } catch (err) {
      await this.file.abort().catch(() => undefined);
      throw err;
    }
    this.pack.entries = entries;
    this.pack.fileBytes = this.size + trailer.length;
  }

  /** Gives up on the pack (nothing of it becomes part of the repository). */
  abort(): Promise<void> {
    return this.file.abort();
  }

  /** Starts writing the filling segment and opens a new one. */
  private writeSegment(): void {
    const seg = this.segments.at(-1)!;
    this.segments.push({ start: seg.end, end: seg.end, parts: [] });
    if (seg.end === seg.start) return;
    const p = this.file.write(seg.parts, seg.start).then(
      () => {
        this.segments = this.segments.filter((s) => s !== seg);
        this.unwritten -= seg.end - seg.start;
      },
      (err: unknown) => {
        this.writeError ??= err;
      },
    );
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p));
  }

  /** Resolves once at most `limit` bytes wait for the disk (or a write failed). */
  private async drained(limit = MAX_UNWRITTEN_BYTES / 2): Promise<void> {
    while (this.writes.size > 0 && this.unwritten > limit && this.writeError === null) await Promise.race(this.writes);
  }
}
