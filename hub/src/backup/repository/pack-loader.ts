import type { RepositoryBackend } from './backend.ts';
import type { ChunkIndex, Pack } from './chunk-index.ts';
import { packIndexKey, packKey, packOfKey, PACKS_PREFIX } from './keys.ts';
import { decodeIndex, trailerIndexRange, type PackEntry } from './pack-format.ts';

/**
 * Loads every sealed pack's index into `index` at open (docs/repository-format.md, "Crash
 * debris"): `.idx` files are read as they are; a pack without one gets it back from its
 * trailer; debris (an unreadable pack, an `.idx` without its pack) is ignored and removed
 * once older than `debrisAgeMs`.
 */
export async function loadPacks(backend: RepositoryBackend, index: ChunkIndex, options: { now: number; debrisAgeMs: number }): Promise<void> {
  const packs = new Map<string, { size: number; mtimeMs: number }>();
  const idx = new Map<string, number>();
  for await (const o of backend.list(PACKS_PREFIX)) {
    const k = packOfKey(o.key);
    if (!k) continue;
    if (k.index) idx.set(k.id, o.mtimeMs);
    else packs.set(k.id, { size: o.size, mtimeMs: o.mtimeMs });
  }
  const old = (mtimeMs: number): boolean => mtimeMs <= options.now - options.debrisAgeMs;
  for (const [id, mtimeMs] of idx) {
    if (!packs.has(id) && old(mtimeMs)) await backend.delete(packIndexKey(id));
  }
  // Sorted so that duplicates (a crash between a repack and its cleanup) resolve the same way
  // in every process.
  for (const id of [...packs.keys()].sort()) {
    const file = packs.get(id)!;
    let entries: PackEntry[] | null = null;
    if (idx.has(id)) {
      entries = decodeIndex(await backend.get(packIndexKey(id)));
    }
    if (!entries) {
      const t = await fromTrailer(backend, id, file.size);
      if (t) {
        entries = t.entries;
        await backend.put(packIndexKey(id), t.raw);
      }
    }
    if (!entries) {
      if (old(file.mtimeMs)) await backend.delete(packKey(id));
      continue;
    }
    const pack: Pack = { id, entries, fileBytes: file.size, writer: null };
    index.packs.set(id, pack);
    for (const e of entries) {
      if (e.offset + e.length <= file.size) index.set(e.digest, { pack, offset: e.offset, length: e.length });
    }
  }
}

async function fromTrailer(backend: RepositoryBackend, id: string, size: number): Promise<{ entries: PackEntry[]; raw: Buffer } | null> {
  if (size < 12) return null;
  const range = trailerIndexRange(await backend.readAt(packKey(id), size - 12, 12), size);
  if (!range) return null;
  const raw = await backend.readAt(packKey(id), range.offset, range.length);
  const entries = decodeIndex(raw);
  return entries ? { entries, raw } : null;
}
