import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { checkKey, type BackendSpace, type ObjectInfo, type RepositoryBackend } from './backend.ts';
import { RepositoryError } from './errors.ts';

const TMP_DIR = 'tmp';

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
    await fs.rm(this.file(key), { force: true });
  }

  async recover({ now, olderThanMs }: { now: number; olderThanMs: number }): Promise<{ removedTempFiles: number }> {
    const dir = path.join(this.root, TMP_DIR);
    await fs.mkdir(dir, { recursive: true });
    let removed = 0;
    for (const name of await fs.readdir(dir)) {
      const file = path.join(dir, name);
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
