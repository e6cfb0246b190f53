/** One byte range of a disk. */
export interface Extent {
  offset: number;
  length: number;
}

export interface DiskDescription {
  /** Stable id of the source (for a file: its resolved path). */
  id: string;
  path: string;
  size: number;
  sectorSize: number;
  kind: 'file' | 'block';
  /** Image format the data is read through: raw bytes, or the guest view of a qcow2. @default 'raw' */
  format?: 'raw' | 'qcow2';
}

/**
 * A disk the agent can back up (ARCHITECTURE.md "Disk sources"). Contract, for every
 * implementation:
 * - `describe()` is cheap and may be called at any time before `release()`.
 * - `allocatedExtents()` lists ranges that may hold data, sorted, non-overlapping, inside
 *   [0, size); everything outside them reads as zeros. Listing the whole disk is always correct.
 * - `changedExtents(token)` lists ranges that may differ from the point in time named by
 *   `token` (all allocated extents when the source has no change tracking or no token).
 * - `read(offset, length)` returns exactly `length` bytes (less only at the end of the disk).
 * - `changeToken()` (sources with change tracking) names this point in time; passed back to
 *   `changedExtents` of a later open, once the snapshot taken now is committed.
 * - `release()` frees what `open` took; the source is unusable after it.
 */
export interface DiskSource {
  describe(): DiskDescription;
  allocatedExtents(): Promise<Extent[]>;
  /** `note` says why tracking was not used when a token was given and `tracked` is false. */
  changedExtents(token: string | null): Promise<{ extents: Extent[]; tracked: boolean; note?: string }>;
  read(offset: number, length: number): Promise<Buffer>;
  changeToken?(): string | null;
  release(): Promise<void>;
}
