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
export class PackWriter {
  readonly pack: Pack;
  /** Bytes reserved so far (header + entries); the next entry goes here. */
  size = PACK_MAGIC.length;
  private readonly entries: PackEntry[] = [];
  private readonly writes = new Set<Promise<void>>();
  private sealing: Promise<void> | null = null;
  /** Set when sealing failed: its chunks are not in the repository. */
  failed = false;

  private constructor(
    private readonly backend: RepositoryBackend,
    private readonly file: AppendObject,
    id: string,
  ) {
    this.pack = { id, entries: [], fileBytes: 0, writer: this };
  }

  static async create(backend: RepositoryBackend): Promise<PackWriter> {
    const id = newPackId();
    const file = await backend.createAppend(packKey(id));
    const w = new PackWriter(backend, file, id);
    w.track(file.write([PACK_MAGIC], 0));
    return w;
  }

  /** Entries written so far. */
  get written(): readonly PackEntry[] {
    return this.entries;
  }

  get sealed(): boolean {
    return this.sealing !== null;
  }

  /**
   * Appends a chunk's stored form. The offset is reserved synchronously, so callers may append
   * concurrently; the promise resolves with the entry once its bytes are written.
   */
  append(digest: string, stored: readonly Buffer[]): Promise<PackEntry> {
    if (this.sealing) throw new Error(`pack ${this.pack.id} is sealed; append to a new pack`);
    const length = stored.reduce((n, b) => n + b.length, 0);
    const start = this.size;
    this.size += ENTRY_HEADER_SIZE + length;
    const entry: PackEntry = { digest, offset: start + ENTRY_HEADER_SIZE, length };
    const p = this.file.write([entryHeader(digest, length), ...stored], start).then(() => {
      this.entries.push(entry);
    });
    this.track(p);
    return p.then(() => entry);
  }

  /** Reads bytes of an entry already written (before or after sealing). */
  read(offset: number, length: number): Promise<Buffer> {
    return this.file.read(offset, length);
  }

  /** Writes the trailer, fsyncs, installs the pack and its `.idx`. Idempotent. */
  seal(): Promise<void> {
    this.sealing ??= this.doSeal();
    return this.sealing;
  }

  private async doSeal(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
    const entries = [...this.entries].sort((a, b) => a.offset - b.offset);
    const index = encodeIndex(entries);
    const trailer = encodeTrailer(index);
    try {
      await this.file.write([trailer], this.size);
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

  private track(p: Promise<void>): void {
    this.writes.add(p);
    const done = (): void => {
      this.writes.delete(p);
    };
    p.then(done, done);
  }
}
