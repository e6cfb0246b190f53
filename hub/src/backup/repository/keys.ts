/** Object keys of the layout in docs/repository-format.md, in one place. */
export const CONFIG_KEY = 'config.json';
export const CHUNKS_PREFIX = 'chunks/';
export const SNAPSHOTS_PREFIX = 'snapshots/';
export const PENDING_PREFIX = 'pending/';

export const chunkKey = (digest: string): string => `chunks/${digest.slice(0, 2)}/${digest}`;
export const snapshotKey = (id: string): string => `snapshots/${id}.json`;
export const markerKey = (backupId: string): string => `pending/${backupId}.json`;
export const claimKey = (backupId: string, seq: number): string => `pending/${backupId}.c-${seq}`;

/** The digest a chunk key names, or null when the key is not a chunk file. */
export function digestOfKey(key: string): string | null {
  const m = /^chunks\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(key);
  return m && m[1] !== undefined && key.slice(7, 9) === m[1].slice(0, 2) ? m[1] : null;
}
