import fs from 'node:fs/promises';
import { FerryError } from '../../../common/src/errors.ts';
import { NBD_STATE, NBD_STATE_DIRTY, NbdClient } from './nbd-client.ts';
import { checkReadAllowed } from './path-policy.ts';
import { parseQcow2Map, type MapEntry } from './qcow2-map.ts';
import { Qcow2Reader } from './qcow2-reader.ts';
import { bitmapOp, qcow2Info, qcow2MapJson, startQemuNbd, type NbdServer, type Qcow2Info } from './qemu-tools.ts';
import type { DiskDescription, DiskSource, Extent } from './types.ts';

/**
 * A qcow2 image read through `qemu-nbd`, with changed-block tracking from persistent dirty
 * bitmaps: the stand-in for VMware CBT (ARCHITECTURE.md "Disk sources").
 *
 * CBT protocol, per chain (a chain = one source in one repository, named by `chain`):
 * - Bitmaps are named `ferry-<chain>-<n>`. Bitmap n records every write since backup n began.
 * - open() with the parent's token `ferry-<chain>-<n>` (null for a full) removes every other
 *   bitmap of the chain (stale ones from failed or superseded runs), adds `ferry-<chain>-<n+1>`
 *   for this backup, then exports the image with `-B ferry-<chain>-<n>`: its dirty extents are
 *   what changed since backup n.
 * - The new token is committed lazily: the hub records it in the snapshot's metadata and hands
 *   it back as the parent token next time; only then is bitmap n removed. A backup that fails
 *   before its snapshot is written therefore never loses the parent's bitmap.
 * A parent bitmap that is missing, disabled (not recording) or marked in-use (left by a crashed
 * writer) is not trusted: changedExtents() then reports every allocated extent, untracked.
 *
 * Consistency: qemu-nbd serves the image read-only and qemu-img needs the image lock for the
 * bitmap edits, so the image must be offline (a running VM holds the lock: the backup fails
 * with disk_in_use). A live VM would be backed up from a snapshot overlay instead.
 *
 * Data path: qemu-nbd answers the metadata questions (allocation, dirty bitmap) and holds the
 * image lock for the whole backup; the guest bytes themselves are read from the image file at
 * the cluster offsets of `qemu-img map`, taken while that lock is held (qcow2-reader.ts), and
 * through NBD only where the map does not give them as-is (compressed or encrypted clusters,
 * backing files, external data files). Through NBD the same bytes cost about three times the
 * CPU (qemu-nbd's pread and socket write, Node's socket read and copy).
 * FERRY_AGENT_QCOW2_DIRECT_READS=off reads everything through qemu-nbd.
 */
export interface Qcow2OpenOptions {
  /** Chain id (letters, digits, '-'): enables change tracking. Without it no bitmap is touched. */
  chain?: string;
  /** Token of the parent snapshot (a bitmap name) from the previous backup of this chain. */
  token?: string | null;
}

export interface Qcow2Tracking {
  /** Bitmap that records writes from now on; the token to store with this snapshot. */
  newToken: string | null;
  /** The parent token when its bitmap is usable; null otherwise. */
  since: string | null;
  /** Why tracking is not used, when it is not. */
  note: string | null;
}

const CHAIN_RE = /^[A-Za-z0-9-]{1,64}$/;

/**
 * Granularity of the bitmaps Ferry adds: a guest's 4 KiB page. qemu's default is the cluster
 * size (64 KiB), so a 4 KiB write reported a whole 64 KiB chunk changed; at 4 KiB the backup
 * reads and stores only the changed pages, as patches of the parent's chunks (chunk-plan.ts
 * planPatches). The bitmap costs 32 KiB per GiB of disk.
 */
export const BITMAP_GRANULARITY = 4096;

export class Qcow2NbdSource implements DiskSource {
  private constructor(
    private readonly server: NbdServer,
    private readonly nbd: NbdClient,
    /** Reads the guest bytes: from the image file where the map allows, else through qemu-nbd. */
    readonly reader: Qcow2Reader,
    private readonly desc: DiskDescription,
    readonly info: Qcow2Info,
    readonly tracking: Qcow2Tracking,
    /** Milliseconds open() spent per phase (qemu-img info, bitmap edits, qemu-nbd start, NBD handshake). */
    readonly openTimings: Readonly<Record<string, number>>,
  ) {}

  static async open(p: string, allowed: readonly string[], opts: Qcow2OpenOptions = {}): Promise<Qcow2NbdSource> {
    checkReadAllowed(p, allowed);
    let real: string;
    try {
      real = await fs.realpath(p);
    } catch (e) {
      throw new FerryError('disk_not_found', `${p} does not exist on the agent`, { status: 404, cause: e });
    }
    checkReadAllowed(real, allowed);
    const laps = stopwatch();
    let info = await qcow2Info(real);
    laps.lap('info');
    if (info.format !== 'qcow2') throw new FerryError('disk_not_supported', `${p} is ${info.format}, not qcow2`, { status: 422 });
    // qemu would follow these; they must obey the same path rules as the image itself.
    for (const f of [info.backingFile, info.dataFile]) if (f) checkReadAllowed(await fs.realpath(f).catch(() => f), allowed);

    const tracking: Qcow2Tracking = { newToken: null, since: null, note: 'no change tracking requested' };
    if (opts.chain !== undefined) {
      if (!CHAIN_RE.test(opts.chain)) throw new FerryError('bad_request', `chain id ${JSON.stringify(opts.chain)} must be 1-64 letters, digits or '-'`);
      const prefix = `ferry-${opts.chain}-`;
      const ours = info.bitmaps.filter((b) => b.name.startsWith(prefix));
      const parent = opts.token ? ours.find((b) => b.name === opts.token) : undefined;
      if (!opts.token) tracking.note = 'no parent token (full backup)';
      else if (!parent) tracking.note = `bitmap ${opts.token} is not in the image (removed, or the image was replaced)`;
      else if (parent.flags.includes('in-use')) tracking.note = `bitmap ${opts.token} is marked in-use (a writer crashed); it may have missed writes`;
      else if (!parent.flags.includes('auto')) tracking.note = `bitmap ${opts.token} is disabled; it may have missed writes`;
      else tracking.note = null;
      if (tracking.note === null) tracking.since = opts.token!;
      const n = Math.max(0, ...ours.map((b) => Number(b.name.slice(prefix.length))).filter(Number.isFinite));
      const removed = new Set<string>();
      for (const b of ours) {
        if (b.name === tracking.since) continue;
        await bitmapOp(real, '--remove', b.name);
        removed.add(b.name);
      }
      tracking.newToken = `${prefix}${n + 1}`;
      await bitmapOp(real, '--add', tracking.newToken, { granularity: BITMAP_GRANULARITY });
      laps.lap('bitmaps');
      // What the edits left, without another qemu-img run.
      const added = { name: tracking.newToken, granularity: BITMAP_GRANULARITY, flags: ['auto'] };
      info = { ...info, bitmaps: [...info.bitmaps.filter((b) => !removed.has(b.name)), added] };
    }

    // Direct reads need the image file itself; opened before qemu-nbd so that the map below
    // can be checked to describe this very file.
    const direct = !info.encrypted && !info.dataFile && process.env.FERRY_AGENT_QCOW2_DIRECT_READS !== 'off';
    const file = direct ? await fs.open(real, 'r').catch(() => null) : null;
    let server: NbdServer;
    try {
      server = await startQemuNbd(real, tracking.since ? { bitmap: tracking.since } : {});
    } catch (e) {
      await file?.close();
      throw e;
    }
    laps.lap('serve');
    try {
      const contexts = ['base:allocation', ...(tracking.since ? [bitmapContext(tracking.since)] : [])];
      // The map is taken while qemu-nbd holds the image (no writer can change it), beside the handshake.
      const [nbd, map] = await Promise.all([NbdClient.connect(server.socketPath, { metaContexts: contexts }), file ? loadMap(real, file, info.virtualSize) : null]);
      laps.lap('connect+map');
      if (tracking.since && nbd.contextId(bitmapContext(tracking.since)) === undefined) {
        tracking.note = `qemu-nbd did not offer ${bitmapContext(tracking.since)}`;
        tracking.since = null;
      }
      const usable = map && nbd.size === info.virtualSize ? map : null;
      if (!usable) await file?.close();
      const reader = new Qcow2Reader(nbd, usable ? file : null, usable);
      return new Qcow2NbdSource(server, nbd, reader, { id: real, path: p, size: nbd.size, sectorSize: 512, kind: 'file', format: 'qcow2' }, info, tracking, laps.done);
    } catch (e) {
      await file?.close();
      await server.stop();
      throw e;
    }
  }

  describe(): DiskDescription {
    return { ...this.desc };
  }

  /** Ranges that are not known to read as zeros (base:allocation without NBD_STATE_ZERO). */
  async allocatedExtents(): Promise<Extent[]> {
    if (this.desc.size === 0) return [];
    if (this.nbd.contextId('base:allocation') === undefined) return [{ offset: 0, length: this.desc.size }];
    return mergeExtents((await this.nbd.extents('base:allocation')).filter((e) => (e.flags & NBD_STATE.zero) === 0));
  }

  /**
   * Dirty extents of the parent's bitmap when `token` is the parent token this source was
   * opened with and its bitmap was usable; otherwise every allocated extent, untracked.
   */
  async changedExtents(token: string | null): Promise<{ extents: Extent[]; tracked: boolean; note?: string }> {
    const since = this.tracking.since;
    if (!token || token !== since) {
      const note = !token ? 'no parent token' : since === null ? (this.tracking.note ?? 'no usable bitmap') : `token ${token} is not the one this source was opened with (${since})`;
      return { extents: await this.allocatedExtents(), tracked: false, note };
    }
    const dirty = (await this.nbd.extents(bitmapContext(since))).filter((e) => (e.flags & NBD_STATE_DIRTY) !== 0);
    return { extents: mergeExtents(dirty), tracked: true };
  }

  changeToken(): string | null {
    return this.tracking.newToken;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    return this.readInto(Buffer.allocUnsafe(Math.max(0, Math.min(length, this.desc.size - offset))), offset, length);
  }

  /** Like `read`, into `target` (at least `length` bytes); returns the filled part of it. */
  async readInto(target: Buffer, offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || !Number.isSafeInteger(offset)) throw new RangeError(`bad read offset ${offset}`);
    const n = Math.max(0, Math.min(length, this.desc.size - offset));
    if (target.length < n) throw new RangeError(`a ${target.length}-byte buffer cannot take a ${n}-byte read`);
    const buf = target.subarray(0, n);
    if (n > 0) await this.reader.readInto(buf, offset, n);
    return buf;
  }

  async release(): Promise<void> {
    await this.reader.close().catch(() => undefined);
    await this.nbd.close().catch(() => undefined);
    await this.server.stop();
  }
}

/** The image's map when it can be trusted to describe the file behind `file`; null means read through NBD. */
async function loadMap(real: string, file: fs.FileHandle, size: number): Promise<MapEntry[] | null> {
  try {
    const [json, a, b] = await Promise.all([qcow2MapJson(real), fs.stat(real), file.stat()]);
    if (a.dev !== b.dev || a.ino !== b.ino) return null; // the path now names another file
    return parseQcow2Map(json, size);
  } catch {
    return null; // an older qemu-img, an odd image: qemu-nbd reads everything, as before
  }
}

function stopwatch(): { lap(name: string): void; done: Record<string, number> } {
  const done: Record<string, number> = {};
  let t = performance.now();
  return {
    done,
    lap(name) {
      const now = performance.now();
      done[name] = (done[name] ?? 0) + (now - t);
      t = now;
    },
  };
}

export function bitmapContext(name: string): string {
  return `qemu:dirty-bitmap:${name}`;
}

function mergeExtents(list: { offset: number; length: number }[]): Extent[] {
  const out: Extent[] = [];
  for (const e of list) {
    const last = out[out.length - 1];
    if (last && last.offset + last.length === e.offset) last.length += e.length;
    else out.push({ offset: e.offset, length: e.length });
  }
  return out;
}

/** True when the file starts with the qcow2 magic "QFI\xfb". */
export async function looksLikeQcow2(file: string): Promise<boolean> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(file, 'r');
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return bytesRead === 4 && b.equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]));
  } catch {
    return false;
  } finally {
    await fh?.close();
  }
}
