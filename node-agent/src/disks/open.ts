import { FerryError } from '../../../common/src/errors.ts';
import { looksLikeQcow2, Qcow2NbdSource } from './qcow2-nbd.ts';
import { RawDiskSource } from './raw.ts';
import type { DiskSource } from './types.ts';

export interface OpenDiskOptions {
  /**
   * 'raw', 'qcow2', or 'auto' (probe the qcow2 magic). A VM disk's format comes from its
   * libvirt definition; a bare path is probed. Probing trusts the file's first bytes, so a raw
   * guest disk that holds a qcow2 header would be read as qcow2: its backing and data files
   * must still lie inside the allowed paths, so nothing outside them is read.
   * @default 'auto'
   */
  format?: string | null;
  /** Change-tracking chain id (qcow2 bitmaps); see Qcow2NbdSource. */
  chain?: string;
  token?: string | null;
}

/** Opens the right DiskSource for `p` after the path checks each source does. */
export async function openDiskSource(p: string, allowed: readonly string[], opts: OpenDiskOptions = {}): Promise<DiskSource> {
  const format = opts.format ?? 'auto';
  if (format !== 'auto' && format !== 'raw' && format !== 'qcow2') throw new FerryError('disk_not_supported', `disk ${p} has format ${format}; raw and qcow2 are supported`, { status: 501 });
  // The raw open does the path checks before the file is probed.
  if (format === 'raw') return RawDiskSource.open(p, allowed);
  if (format === 'qcow2') return Qcow2NbdSource.open(p, allowed, { chain: opts.chain, token: opts.token });
  const raw = await RawDiskSource.open(p, allowed);
  if (raw.describe().kind === 'block' || !(await looksLikeQcow2(raw.describe().id))) return raw;
  await raw.release();
  return Qcow2NbdSource.open(p, allowed, { chain: opts.chain, token: opts.token });
}
