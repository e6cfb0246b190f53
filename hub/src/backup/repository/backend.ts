/** Size and modification time of one stored object. */
export interface ObjectInfo {
  /** Relative key with `/` separators, e.g. `chunks/ab/ab12…`. */
  key: string;
  size: number;
  /** Last write time in ms since the epoch; GC compares it with its grace period. */
  mtimeMs: number;
}

/**
 * An object being written by appends (a pack being filled). Invisible under its key, and
 * never listed, until `commit`; a crash before that leaves debris that `recover` removes.
 */
export interface AppendObject {
  /** Writes `data` at byte `position`; several writes may be in flight at distinct positions. */
  write(data: readonly Buffer[], position: number): Promise<void>;
  /** Reads bytes already written (callers wait for the write first). */
  read(position: number, length: number): Promise<Buffer>;
  /** Makes the content durable, then installs it under its key, durable by name. */
  commit(): Promise<void>;
  /** Drops the object. */
  abort(): Promise<void>;
}

export interface BackendSpace {
  capacityBytes: number;
  freeBytes: number;
}

/**
 * Where a repository keeps its objects (chunk files, manifests, markers). Keys are relative
 * paths using `/`, made of `[A-Za-z0-9._-]` segments; the layout is docs/repository-format.md.
 *
 * Contract every implementation honours (and the conformance tests check):
 * - `put` is atomic and durable: when it resolves, the object survives a crash, and readers
 *   never see a partial object. Overwriting an existing key replaces it atomically.
 *   With `{ deferDirSync: true }` the object's content is durable but its name may only be
 *   after the next `flush()`: a crash before that can lose the object, never corrupt it. Many
 *   small objects written this way cost one folder sync per folder instead of one each.
 * - `flush` makes every object put with `deferDirSync` so far durable by name.
 * - `get` of a missing key rejects with RepositoryError `object_not_found`.
 * - `delete` of a missing key succeeds (deleting is idempotent).
 * - `list(prefix)` yields every object whose key starts with `prefix`, in no particular order;
 *   objects written or deleted during the listing may or may not appear.
 * - `createAppend(key)` starts an AppendObject; `commit` is durable like `put` (content and name).
 * - `readAt(key, offset, length, into?)` reads a byte range of an object; a missing key rejects
 *   with `object_not_found`; a range past the end yields fewer bytes. With `into` (at least
 *   `length` bytes) the bytes land there and the result is a view of it: a restore reads chunks
 *   straight into the frame it sends.
 * - `recover` removes debris of interrupted writes older than `olderThanMs` (relative to
 *   `now`); it never touches a completed object.
 * Implementations hold no repository logic: hashing, compression and GC live above them.
 */
export interface RepositoryBackend {
  put(key: string, data: Buffer | readonly Buffer[], options?: { deferDirSync?: boolean }): Promise<void>;
  flush(): Promise<void>;
  get(key: string): Promise<Buffer>;
  has(key: string): Promise<boolean>;
  stat(key: string): Promise<ObjectInfo | null>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  createAppend(key: string): Promise<AppendObject>;
  readAt(key: string, offset: number, length: number, into?: Buffer): Promise<Buffer>;
  recover(options: { now: number; olderThanMs: number }): Promise<{ removedTempFiles: number }>;
  /** Capacity and free space of the underlying store, when it has such a notion. */
  space(): Promise<BackendSpace | null>;
  /** Releases cached resources (open descriptors); the backend stays usable. */
  close?(): void;
}

const KEY_RE = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Rejects keys that could escape the root (`..`, absolute paths, empty segments). */
export function checkKey(key: string): string {
  if (!KEY_RE.test(key) || key.split('/').some((s) => s === '.' || s === '..')) {
    throw new TypeError(`invalid repository object key "${key}"`);
  }
  return key;
}
