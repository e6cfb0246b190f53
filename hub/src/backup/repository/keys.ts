/** Object keys of the layout in docs/repository-format.md, in one place. */
export const CONFIG_KEY = 'config.json';
export const PACKS_PREFIX = 'packs/';
export const SNAPSHOTS_PREFIX = 'snapshots/';
export const PENDING_PREFIX = 'pending/';

export const packKey = (id: string): string => `packs/${id.slice(0, 2)}/${id}`;
export const packIndexKey = (id: string): string => `packs/${id.slice(0, 2)}/${id}.idx`;
export const snapshotKey = (id: string): string => `snapshots/${id}.json`;
export const markerKey = (backupId: string): string => `pending/${backupId}.json`;
export const claimKey = (backupId: string, seq: number): string => `pending/${backupId}.c-${seq}`;

/** The pack id a pack or pack-index key names, or null for any other key. */
export function packOfKey(key: string): { id: string; index: boolean } | null {
  const m = /^packs\/([0-9a-f]{2})\/([0-9a-f]{32})(\.idx)?$/.exec(key);
  if (!m || m[2] === undefined || m[2].slice(0, 2) !== m[1]) return null;
  return { id: m[2], index: m[3] !== undefined };
}
