import fs from 'node:fs/promises';
import { FerryError } from '../../../common/src/errors.ts';
import { dataExtents } from './extents.ts';
import { checkReadAllowed } from './path-policy.ts';
import type { DiskDescription, DiskSource, Extent } from './types.ts';

/**
 * A raw image file or block device. Allocation comes from SEEK_DATA/SEEK_HOLE (files only);
 * there is no change tracking: an incremental reads and hashes everything allocated and the
 * caller compares digests with the previous snapshot.
 */
export class RawDiskSource implements DiskSource {
  private constructor(
    private readonly fh: fs.FileHandle,
    private readonly desc: DiskDescription,
  ) {}

  /** Opens `p` read-only after checking it (and what it resolves to) against `allowed`. */
  static async open(p: string, allowed: readonly string[]): Promise<RawDiskSource> {
    checkReadAllowed(p, allowed);
    let real: string;
    try {
      real = await fs.realpath(p);
    } catch (e) {
      throw notFound(p, e);
    }
    // A symlink inside an allowed folder must not lead outside it.
    checkReadAllowed(real, allowed);
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(real, 'r');
    } catch (e) {
      throw notFound(p, e);
    }
    try {
      const st = await fh.stat();
      let size = st.size;
      const kind = st.isBlockDevice() ? 'block' : 'file';
      if (!st.isFile() && !st.isBlockDevice()) throw new FerryError('disk_not_supported', `${p} is neither a regular file nor a block device`, { status: 422 });
      if (kind === 'block') size = await blockDeviceSize(fh);
      return new RawDiskSource(fh, { id: real, path: p, size, sectorSize: 512, kind });
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  describe(): DiskDescription {
    return { ...this.desc };
  }

  async allocatedExtents(): Promise<Extent[]> {
    if (this.desc.kind === 'block') return this.desc.size > 0 ? [{ offset: 0, length: this.desc.size }] : [];
    return dataExtents(this.desc.id, this.desc.size);
  }

  async changedExtents(_token: string | null): Promise<{ extents: Extent[]; tracked: boolean }> {
    return { extents: await this.allocatedExtents(), tracked: false };
  }

  async read(offset: number, length: number): Promise<Buffer> {
    return this.readInto(Buffer.allocUnsafe(Math.max(0, Math.min(length, this.desc.size - offset))), offset, length);
  }

  /** Like `read`, into `target` (at least `length` bytes); returns the filled part of it. */
  async readInto(target: Buffer, offset: number, length: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(length, this.desc.size - offset));
    if (target.length < n) throw new RangeError(`a ${target.length}-byte buffer cannot take a ${n}-byte read`);
    const buf = target.subarray(0, n);
    let done = 0;
    while (done < n) {
      const { bytesRead } = await this.fh.read(buf, done, n - done, offset + done);
      if (bytesRead === 0) throw new FerryError('disk_changed', `${this.desc.path} became shorter while it was read (at ${offset + done})`, { status: 409, retryable: true });
      done += bytesRead;
    }
    return buf;
  }

  async release(): Promise<void> {
    await this.fh.close();
  }
}

function notFound(p: string, cause: unknown): FerryError {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return new FerryError('disk_unreadable', `the agent may not read ${p} (${code})`, { status: 403, cause });
  return new FerryError('disk_not_found', `${p} does not exist on the agent`, { status: 404, cause });
}

/** A block device's stat size is 0; its size is where reading ends (found by seeking reads). */
async function blockDeviceSize(fh: fs.FileHandle): Promise<number> {
  const one = Buffer.alloc(1);
  let lo = 0;
  let hi = 1;
  while ((await fh.read(one, 0, 1, hi - 1)).bytesRead === 1) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await fh.read(one, 0, 1, mid - 1)).bytesRead === 1) lo = mid;
    else hi = mid;
  }
  return lo;
}
