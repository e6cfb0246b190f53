/**
 * The in-memory picture of which chunks exist, loaded at open and kept current by every write
 * and delete, so `hasChunks` answers without touching the disk and `stats` is free.
 * It also serialises a chunk's deletion against a new write of the same digest: a write waits
 * until an unlink in flight has finished, or the unlink could remove the fresh file.
 */
export class ChunkIndex {
  private readonly present = new Set<string>();
  private readonly deleting = new Map<string, Promise<void>>();
  private readonly writing = new Map<string, Promise<unknown>>();
  storedBytes = 0;

  get count(): number {
    return this.present.size;
  }

  has(digest: string): boolean {
    return this.present.has(digest);
  }

  add(digest: string, storedSize: number): void {
    if (this.present.has(digest)) return;
    this.present.add(digest);
    this.storedBytes += storedSize;
  }

  /** Removes the digest now (synchronously) and runs `unlink`; writers of it wait for that. */
  async remove(digest: string, storedSize: number, unlink: () => Promise<void>): Promise<void> {
    if (!this.present.delete(digest)) return;
    this.storedBytes -= storedSize;
    const p = unlink().finally(() => this.deleting.delete(digest));
    this.deleting.set(digest, p);
    await p;
  }

  /** Runs `write` once per digest at a time; concurrent callers share the first one's result. */
  async writeOnce<T>(digest: string, write: () => Promise<T>): Promise<T> {
    const inFlight = this.writing.get(digest) as Promise<T> | undefined;
    if (inFlight) return inFlight;
    const p = (async () => {
      await this.deleting.get(digest)?.catch(() => undefined);
      return write();
    })().finally(() => this.writing.delete(digest));
    this.writing.set(digest, p);
    return p;
  }
}
