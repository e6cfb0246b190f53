import { randomBytes } from 'node:crypto';
import type { RepositoryBackend } from './backend.ts';
import { RepositoryError } from './errors.ts';
import { claimKey, markerKey, PENDING_PREFIX } from './keys.ts';

export interface PendingBackup {
  id: string;
  /** ms since the epoch. */
  startedAt: number;
}

/**
 * Markers of backups in progress and the digests each one claimed. GC keeps every claimed
 * chunk and every chunk written since the oldest marker started. Claims live in memory (what
 * GC checks, synchronously, right before each delete) and in claim objects (what survives a
 * hub restart).
 */
export class PendingBackups {
  private readonly markers = new Map<string, PendingBackup & { claims: Set<string>; seq: number }>();

  constructor(private readonly backend: RepositoryBackend) {}

  async load(): Promise<void> {
    const claimFiles: string[] = [];
    for await (const o of this.backend.list(PENDING_PREFIX)) {
      if (o.key.endsWith('.json')) {
        const m = JSON.parse((await this.backend.get(o.key)).toString('utf8')) as PendingBackup;
        if (!this.markers.has(m.id)) this.markers.set(m.id, { id: m.id, startedAt: m.startedAt, claims: new Set(), seq: 0 });
      } else {
        claimFiles.push(o.key);
      }
    }
    for (const key of claimFiles) {
      const m = /^pending\/(.+)\.c-(\d+)$/.exec(key);
      const entry = m?.[1] !== undefined ? this.markers.get(m[1]) : undefined;
      if (!entry || m?.[2] === undefined) continue;
      entry.seq = Math.max(entry.seq, Number(m[2]) + 1);
      for (const d of (await this.backend.get(key)).toString('utf8').split('\n')) if (d) entry.claims.add(d);
    }
  }

  async begin(now: number, id?: string): Promise<PendingBackup> {
    const backupId = id ?? `b${now.toString(36)}-${randomBytes(4).toString('hex')}`;
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(backupId)) throw new TypeError(`invalid backup id "${backupId}"`);
    const existing = this.markers.get(backupId);
    if (existing) return { id: existing.id, startedAt: existing.startedAt };
    const marker: PendingBackup = { id: backupId, startedAt: now };
    await this.backend.put(markerKey(backupId), Buffer.from(JSON.stringify(marker)));
    this.markers.set(backupId, { ...marker, claims: new Set(), seq: 0 });
    return marker;
  }

  /**
   * Records that backup `id` relies on these digests. The in-memory part happens before the
   * first await, so a GC sweep running concurrently either sees the claim or has already
   * removed the chunk from the index (and the caller was told it is missing).
   */
  async claim(id: string, digests: readonly string[]): Promise<void> {
    const entry = this.markers.get(id);
    if (!entry) throw new RepositoryError('backup_not_found', `no backup in progress with id ${id}; call beginBackup first`);
    const fresh = digests.filter((d) => !entry.claims.has(d));
    if (fresh.length === 0) return;
    for (const d of fresh) entry.claims.add(d);
    await this.backend.put(claimKey(id, entry.seq++), Buffer.from(fresh.join('\n') + '\n'));
  }

  /** Claims in memory only: for chunks just written, whose fresh mtime already protects them. */
  claimInMemory(id: string, digest: string): void {
    const entry = this.markers.get(id);
    if (!entry) throw new RepositoryError('backup_not_found', `no backup in progress with id ${id}; call beginBackup first`);
    entry.claims.add(digest);
  }

  async end(id: string): Promise<void> {
    const entry = this.markers.get(id);
    if (!entry) return;
    await this.backend.delete(markerKey(id));
    for (let i = 0; i < entry.seq; i++) await this.backend.delete(claimKey(id, i));
    this.markers.delete(id);
  }

  isClaimed(digest: string): boolean {
    for (const m of this.markers.values()) if (m.claims.has(digest)) return true;
    return false;
  }

  /** Start of the oldest backup in progress, or null when none is. */
  oldestStart(): number | null {
    let oldest: number | null = null;
    for (const m of this.markers.values()) oldest = oldest === null ? m.startedAt : Math.min(oldest, m.startedAt);
    return oldest;
  }

  list(): PendingBackup[] {
    return [...this.markers.values()].map((m) => ({ id: m.id, startedAt: m.startedAt }));
  }

  has(id: string): boolean {
    return this.markers.has(id);
  }
}
