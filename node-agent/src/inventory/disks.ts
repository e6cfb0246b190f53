import fs from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';

export interface DiskEntry {
  path: string;
  size: number;
  kind: 'file' | 'block';
}

const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 8;

/**
 * Expands FERRY_AGENT_DISK_PATHS entries (globs or folders) to the files and block devices
 * they name. Walks only below each entry's fixed prefix, so nothing outside the configured
 * paths is even listed.
 */
export async function expandDiskPaths(entries: readonly string[]): Promise<DiskEntry[]> {
  const found = new Map<string, DiskEntry>();
  for (const entry of entries) {
    if (!path.isAbsolute(entry)) continue;
    const scan = picomatch.scan(entry);
    const base = scan.isGlob ? scan.base || '/' : entry;
    const match = scan.isGlob ? picomatch(entry, { dot: true }) : () => true;
    await walk(base, 0, match, found);
    if (found.size >= MAX_ENTRIES) break;
  }
  return [...found.values()].sort((a, b) => a.path.localeCompare(b.path));
}

async function walk(p: string, depth: number, match: (p: string) => boolean, out: Map<string, DiskEntry>): Promise<void> {
  if (out.size >= MAX_ENTRIES) return;
  const st = await fs.stat(p).catch(() => null);
  if (!st) return;
  if (st.isDirectory()) {
    if (depth >= MAX_DEPTH) return;
    const names = await fs.readdir(p).catch(() => [] as string[]);
    for (const n of names.sort()) await walk(path.join(p, n), depth + 1, match, out);
    return;
  }
  if ((st.isFile() || st.isBlockDevice()) && match(p)) out.set(p, { path: p, size: st.size, kind: st.isFile() ? 'file' : 'block' });
}
