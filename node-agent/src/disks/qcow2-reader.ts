import type fs from 'node:fs/promises';
import { FerryError } from '../../../common/src/errors.ts';
import type { NbdClient } from './nbd-client.ts';
import { mapPieces, PIECE, type MapEntry } from './qcow2-map.ts';

/** One direct read in this many is read again through qemu-nbd and compared (the first one always). */
export const VERIFY_EVERY = 256;

/**
 * Guest reads of a qcow2 image: clusters stored as-is are read from the image file at the
 * offsets of `map` (see qcow2-map.ts); zero ranges are filled in; everything else (compressed,
 * backing file, no map) is read through qemu-nbd. The image stays served read-only by qemu-nbd
 * for the whole time, so its lock keeps writers out and the map stays true.
 *
 * A cross-check guards the map interpretation: the first direct read and one in VERIFY_EVERY
 * after it are also read through qemu-nbd; a difference fails the read (and so the backup)
 * rather than storing bytes qemu would not have returned.
 */
export class Qcow2Reader {
  /** Bytes read from the image file directly / through NBD / filled as zeros. */
  readonly stats = { direct: 0, nbd: 0, zero: 0, verified: 0 };
  private directReads = 0;

  constructor(
    private readonly nbd: NbdClient,
    private readonly file: fs.FileHandle | null,
    private readonly map: readonly MapEntry[] | null,
    private readonly verifyEvery = VERIFY_EVERY,
  ) {}

  /** True when reads can bypass qemu-nbd. */
  get direct(): boolean {
    return this.file !== null && this.map !== null;
  }

  /** Fills `target[0, length)` with the guest bytes at `offset` (inside the image). */
  async readInto(target: Buffer, offset: number, length: number): Promise<void> {
    if (!this.file || !this.map) {
      await this.fromNbd(target, offset, length);
      this.stats.nbd += length;
      return;
    }
    const pieces = mapPieces(this.map, offset, length);
    await Promise.all(
      pieces.map(async (p) => {
        const dst = target.subarray(p.offset - offset, p.offset - offset + p.length);
        if (p.kind === PIECE.zero) {
          dst.fill(0);
          this.stats.zero += p.length;
        } else if (p.kind === PIECE.nbd) {
          await this.fromNbd(dst, p.offset, p.length);
          this.stats.nbd += p.length;
        } else {
          const check = this.directReads++ % this.verifyEvery === 0;
          await preadFully(this.file!, dst, p.host, p.offset);
          this.stats.direct += p.length;
          if (check) await this.verify(dst, p.offset);
        }
      }),
    );
  }

  /** Closes the image file (the NBD client is its owner's to close). */
  async close(): Promise<void> {
    await this.file?.close();
  }

  private async fromNbd(dst: Buffer, offset: number, length: number): Promise<void> {
    await this.nbd.readInto(dst.subarray(0, length), offset);
  }

  private async verify(got: Buffer, offset: number): Promise<void> {
    const want = await this.nbd.read(offset, got.length);
    this.stats.verified += got.length;
    if (!want.equals(got)) {
      throw new FerryError('qcow2_map_mismatch', `qcow2: the ${got.length} bytes at guest offset ${offset} read from the image file differ from what qemu-nbd returns; the image map cannot be trusted (was the image written to?)`, {
        status: 500,
      });
    }
  }
}

async function preadFully(fh: fs.FileHandle, dst: Buffer, position: number, guest: number): Promise<void> {
  let done = 0;
  while (done < dst.length) {
    const { bytesRead } = await fh.read(dst, done, dst.length - done, position + done);
    if (bytesRead === 0) throw new FerryError('disk_changed', `qcow2: the image file ends before host offset ${position + done} (guest offset ${guest + done}) its map names`, { status: 409, retryable: true });
    done += bytesRead;
  }
}
