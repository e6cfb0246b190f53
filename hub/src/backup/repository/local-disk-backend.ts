import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { checkKey, type AppendObject, type BackendSpace, type ObjectInfo, type RepositoryBackend } from './backend.ts';
import { RepositoryError } from './errors.ts';

const TMP_DIR = 'tmp';

// Open packs of every backend in this process: an open pack can sit idle longer than the
// temp-file age (a stalled upload), and another Repository instance opening the same folder
// must not take it for crash debris.
const liveTemps = new Set<string>();

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/**
 * A repository on a local filesystem. Writes go to `tmp/`, are fsynced, renamed into place,
 * and the destination folder is fsynced, so a crash leaves either the old state or the new
 * object, plus perhaps a temp file that `recover` removes.
 */
export class LocalDiskBackend implements RepositoryBackend {
  readonly root: string;
  // Unique per backend object (random) and per write (counter): no name clash with another
  // process or instance writing into the same tmp/.
  private readonly tmpPrefix = `${process.pid}-${randomBytes(6).toString('hex')}-`;
  private tmpSeq = 0;
  // Folder fsyncs are coalesced: a rename waits for one fsync that starts after it.
  private readonly dirSyncs = new Map<string, { running: Promise<void> | null; queued: Promise<void> | null }>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private file(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  // Descriptors of packs being read, so restores do not open a file per chunk.
  private readonly readers = new FdCache(32);

  // Folders holding objects renamed with deferDirSync and not yet fsynced.
  private readonly dirtyDirs = new Set<string>();

  async put(key: string, data: Buffer | readonly Buffer[], options: { deferDirSync?: boolean } = {}): Promise<void> {
    const dest = this.file(key);
    const tmp = path.join(this.root, TMP_DIR, `${this.tmpPrefix}${(this.tmpSeq++).toString(36)}.tmp`);
    const fh = await fs.open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o640);
    try {
      const parts = Buffer.isBuffer(data) ? [data] : [...data];
      const total = parts.reduce((n, b) => n + b.length, 0);
      let written = 0;
      while (written < total) {
        const { bytesWritten } = await fh.writev(written === 0 ? parts : remaining(parts, written));
        written += bytesWritten;
      }
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    try {
      await fs.rename(tmp, dest);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) {
        await fs.rm(tmp, { force: true });
        throw err;
      }
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.rename(tmp, dest);
    }
    if (options.deferDirSync) this.dirtyDirs.add(path.dirname(dest));
    else await this.syncDir(path.dirname(dest));
  }

  async flush(): Promise<void> {
    const dirs = [...this.dirtyDirs];
    this.dirtyDirs.clear();
    try {
      await Promise.all(dirs.map((d) => this.syncDir(d)));
    } catch (err) {
      for (const d of dirs) this.dirtyDirs.add(d);
      throw err;
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.file(key));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new RepositoryError('object_not_found', `object ${key} does not exist`);
      throw err;
    }
  }

  async has(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    try {
      const st = await fs.stat(this.file(key));
      return st.isFile() ? { key, size: st.size, mtimeMs: st.mtimeMs } : null;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Walk from the deepest folder the prefix names, then filter on the full prefix.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    yield* this.walk(base, prefix);
  }

  private async *walk(dirKey: string, prefix: string): AsyncIterable<ObjectInfo> {
    let entries;
    try {
      entries = await fs.readdir(dirKey === '' ? this.root : this.file(dirKey), { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    for (const e of entries) {
      const key = dirKey === '' ? e.name : `${dirKey}/${e.name}`;
      if (dirKey === '' && e.name === TMP_DIR) continue;
      if (e.isDirectory()) {
        if (prefix.startsWith(`${key}/`) || key.startsWith(prefix)) yield* this.walk(key, prefix);
      } else if (e.isFile() && key.startsWith(prefix)) {
        const info = await this.stat(key);
        if (info) yield info;
      }
    }
  }

  async delete(key: string): Promise<void> {
    this.readers.evict(this.file(key));
    await fs.rm(this.file(key), { force: true });
  }

  async createAppend(key: string): Promise<AppendObject> {
    const dest = this.file(key);
    const tmp = path.join(this.root, TMP_DIR, `${this.tmpPrefix}${(this.tmpSeq++).toString(36)}.pack`);
    const fh = await fs.open(tmp, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o640);
    liveTemps.add(tmp);
    // The handle stays open after commit for reads already in flight; it closes with the last.
    let reads = 0;
    let state: 'open' | 'committed' | 'closed' = 'open';
    const closeIfIdle = (): void => {
      if (state === 'committed' && reads === 0) {
        state = 'closed';
        void fh.close().catch(() => undefined);
      }
    };
    return {
      write: async (data, position) => {
        const total = data.reduce((n, b) => n + b.length, 0);
        let written = 0;
        while (written < total) {
          const { bytesWritten } = await fh.writev(written === 0 ? [...data] : remaining(data, written), position + written);
          written += bytesWritten;
        }
      },
      read: async (position, length) => {
        if (state === 'closed') return this.readAt(key, position, length);
        reads++;
        try {
          return await readFully(fh, position, length);
        } finally {
          reads--;
          closeIfIdle();
        }
      },
      commit: async () => {
        await fh.sync();
        liveTemps.delete(tmp);
        try {
          await fs.rename(tmp, dest);
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
          await fs.mkdir(path.dirname(dest), { recursive: true });
          await fs.rename(tmp, dest);
        }
        await this.syncDir(path.dirname(dest));
        state = 'committed';
        closeIfIdle();
      },
      abort: async () => {
        if (state !== 'closed') await fh.close().catch(() => undefined);
        state = 'closed';
        liveTemps.delete(tmp);
        await fs.rm(tmp, { force: true });
      },
    };
  }

  async readAt(key: string, offset: number, length: number, into?: Buffer): Promise<Buffer> {
    const h = await this.readers.acquire(this.file(key)).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) throw new RepositoryError('object_not_found', `object ${key} does not exist`);
      throw err;
    });
    try {
      return await readFully(await h.fh, offset, length, into);
    } finally {
      h.release();
    }
  }

  /** Closes cached read descriptors (a Repository that is done with the folder calls it). */
  close(): void {
    this.readers.closeAll();
  }

  async recover({ now, olderThanMs }: { now: number; olderThanMs: number }): Promise<{ removedTempFiles: number }> {
    const dir = path.join(this.root, TMP_DIR);
    await fs.mkdir(dir, { recursive: true });
    let removed = 0;
    for (const name of await fs.readdir(dir)) {
      const file = path.join(dir, name);
      if (liveTemps.has(file)) continue;
      const st = await fs.stat(file).catch(() => null);
      if (st && st.mtimeMs <= now - olderThanMs) {
        await fs.rm(file, { force: true, recursive: true });
        removed++;
      }
    }
    return { removedTempFiles: removed };
  }

  async space(): Promise<BackendSpace> {
    const st = await fs.statfs(this.root);
    return { capacityBytes: st.blocks * st.bsize, freeBytes: st.bavail * st.bsize };
  }

  private syncDir(dir: string): Promise<void> {
    let s = this.dirSyncs.get(dir);
    if (!s) {
      s = { running: null, queued: null };
      this.dirSyncs.set(dir, s);
    }
    if (s.queued) return s.queued;
    const state = s;
    const before = state.running ?? Promise.resolve();
    const next: Promise<void> = before
      .catch(() => undefined)
      .then(async () => {
        state.queued = null;
        state.running = next;
        try {
          const fh = await fs.open(dir, 'r');
          try {
            await fh.sync();
          } finally {
            await fh.close();
          }
        } finally {
          if (state.running === next) state.running = null;
          if (!state.running && !state.queued) this.dirSyncs.delete(dir);
        }
      });
    state.queued = next;
    return next;
  }
}

function remaining(parts: readonly Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const p of parts) {
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    out.push(skip > 0 ? p.subarray(skip) : p);
    skip = 0;
  }
  return out;
}

async function readFully(fh: fs.FileHandle, position: number, length: number, into?: Buffer): Promise<Buffer> {
  if (into && into.length < length) throw new RangeError(`a ${into.length}-byte buffer cannot take ${length} bytes`);
  const buf = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/**
 * A small LRU of read-only file handles. A handle is closed only once no read uses it: an
 * evicted (or deleted) file's handle leaves the cache at once and closes after its last reader.
 */
class FdCache {
  private readonly open = new Map<string, Handle>();
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly max: number) {}

  // Handles idle for a second close, so a Repository object dropped without close() does
  // not hold descriptors until the garbage collector finds them.
  private scheduleIdleClose(): void {
    if (this.timer || this.open.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const limit = performance.now() - 1000;
      for (const [f, h] of this.open) if (h.users === 0 && h.lastUsed < limit) this.evict(f);
      this.scheduleIdleClose();
    }, 1000);
    this.timer.unref();
  }

  async acquire(file: string): Promise<Handle> {
    let h = this.open.get(file);
    if (h) {
      this.open.delete(file); // re-insert: most recently used last
      this.open.set(file, h);
    } else {
      h = new Handle(fs.open(file, 'r'));
      this.open.set(file, h);
      const mine = h;
      h.fh.catch(() => {
        if (this.open.get(file) === mine) this.open.delete(file);
      });
      for (const [f, old] of this.open) {
        if (this.open.size <= this.max) break;
        this.open.delete(f);
        old.retire();
      }
    }
    h.users++;
    h.lastUsed = performance.now();
    this.scheduleIdleClose();
    try {
      await h.fh;
    } catch (err) {
      h.release();
      throw err;
    }
    return h;
  }

  evict(file: string): void {
    const h = this.open.get(file);
    if (!h) return;
    this.open.delete(file);
    h.retire();
  }

  closeAll(): void {
    for (const f of [...this.open.keys()]) this.evict(f);
  }
}

class Handle {
  users = 0;
  lastUsed = 0;
  private retired = false;
  constructor(readonly fh: Promise<fs.FileHandle>) {}

  release(): void {
    this.users--;
    if (this.retired && this.users === 0) this.close();
  }

  retire(): void {
    this.retired = true;
    if (this.users === 0) this.close();
  }

  private close(): void {
    void this.fh.then((fh) => fh.close()).catch(() => undefined);
  }
}
