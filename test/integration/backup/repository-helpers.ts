import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cdcChunks, fixedChunks, isAllZero } from '../../../common/src/chunking/index.ts';
import type { Repository, SnapshotManifest } from '../../../hub/src/backup/repository/index.ts';
import { decodeIndex } from '../../../hub/src/backup/repository/pack-format.ts';

export async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'ferry-repo-t-'));
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export function logText(size: number, seed = 1): Buffer {
  const words = ['INFO', 'WARN', 'nginx', 'postgres', 'request served', 'cache miss', 'took=12ms', 'id=0x1f3a'];
  const parts: string[] = [];
  let x = seed;
  let len = 0;
  while (len < size) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const line = `${words[x % 8]} host${x % 32} ${words[(x >> 3) % 8]} ${words[(x >> 6) % 8]} ${x}\n`;
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

/** A small disk image: random, zero, text and repeated 64 KiB blocks. */
export function diskImage(blocks: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < blocks; i++) {
    const k = i % 4;
    out.push(k === 0 ? randomBytes(65536) : k === 1 ? Buffer.alloc(65536) : k === 2 ? logText(65536, i) : (out[0] ?? Buffer.alloc(65536)));
  }
  return Buffer.concat(out);
}

/** Backs up `data` the way an agent would: chunk, ask, upload what is missing, write the manifest. */
export async function backup(
  repo: Repository,
  id: string,
  data: Buffer,
  kind: 'disk' | 'stream' = 'disk',
  backupId?: string,
): Promise<SnapshotManifest> {
  const opts = backupId === undefined ? {} : { backupId };
  const createdAt = new Date().toISOString();
  if (kind === 'disk') {
    const chunkSize = repo.config.chunking.disk.size;
    const chunks: (string | null)[] = [];
    for await (const c of fixedChunks([data], { size: chunkSize })) {
      if (isAllZero(c.data)) {
        chunks.push(null);
        continue;
      }
      const d = sha256(c.data);
      const [has] = await repo.hasChunks([d], opts);
      if (!has) await repo.putChunk(d, c.data, opts);
      chunks.push(d);
    }
    const m: SnapshotManifest = { format: 1, id, kind, createdAt, size: data.length, chunkSize, chunks };
    await repo.writeSnapshot(m);
    return m;
  }
  const { min, avg, max } = repo.config.chunking.stream;
  const chunks: { d: string; n: number }[] = [];
  for await (const c of cdcChunks([data], { min, avg, max })) {
    const d = sha256(c.data);
    await repo.putChunk(d, c.data, opts);
    chunks.push({ d, n: c.data.length });
  }
  const m: SnapshotManifest = { format: 1, id, kind, createdAt, size: data.length, chunks };
  await repo.writeSnapshot(m);
  return m;
}

/** Where a chunk's stored form (codec byte + payload) sits on disk, read from the `.idx` files; null when no pack lists it. */
export async function locateChunk(root: string, digest: string): Promise<{ pack: string; offset: number; length: number } | null> {
  const packs = path.join(root, 'packs');
  for (const dir of await fs.readdir(packs).catch(() => [])) {
    for (const name of await fs.readdir(path.join(packs, dir))) {
      if (!name.endsWith('.idx')) continue;
      const entries = decodeIndex(await fs.readFile(path.join(packs, dir, name)));
      const e = entries?.find((x) => x.digest === digest);
      if (e) return { pack: path.join(packs, dir, name.slice(0, -4)), offset: e.offset, length: e.length };
    }
  }
  return null;
}

/** The stored form of a chunk as it is inside its pack (the repository must have been flushed). */
export async function readStoredChunk(root: string, digest: string): Promise<Buffer> {
  const loc = await locateChunk(root, digest);
  if (!loc) throw new Error(`no pack lists chunk ${digest}`);
  const fh = await fs.open(loc.pack, 'r');
  try {
    const buf = Buffer.alloc(loc.length);
    await fh.read(buf, 0, loc.length, loc.offset);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Flips one byte of a chunk's stored form inside its pack, `fromEnd` bytes before its end. */
export async function damageChunk(root: string, digest: string, fromEnd = 10): Promise<void> {
  const loc = await locateChunk(root, digest);
  if (!loc) throw new Error(`no pack lists chunk ${digest}`);
  const fh = await fs.open(loc.pack, 'r+');
  try {
    const b = Buffer.alloc(1);
    const at = loc.offset + loc.length - fromEnd;
    await fh.read(b, 0, 1, at);
    b[0] = (b[0]! + 1) & 0xff;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}
