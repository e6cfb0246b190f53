import path from 'node:path';
import picomatch from 'picomatch';
import { FerryError } from '../../../common/src/errors.ts';

/**
 * Which paths an agent may read (FERRY_AGENT_DISK_PATHS) or write (FERRY_AGENT_RESTORE_PATHS).
 * An entry is a glob (`/var/lib/libvirt/images/*.img`) or a plain directory, which allows
 * everything below it. Paths are normalised first, so `..` cannot step outside an entry.
 * The hub uses the same function on the lists an agent reports, to refuse early with a 4xx.
 */
export function pathAllowed(p: string, entries: readonly string[]): boolean {
  if (!path.isAbsolute(p)) return false;
  const norm = path.resolve(p);
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry || !path.isAbsolute(entry)) continue;
    if (picomatch.scan(entry).isGlob) {
      if (picomatch(entry, { dot: true })(norm)) return true;
    } else {
      const dir = path.resolve(entry);
      if (norm === dir || norm.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep)) return true;
    }
  }
  return false;
}

export function checkReadAllowed(p: string, entries: readonly string[]): void {
  if (!pathAllowed(p, entries)) {
    throw new FerryError('path_not_allowed', `${p} is outside the agent's disk paths (FERRY_AGENT_DISK_PATHS: ${entries.join(',') || 'empty'}); the agent reads nothing else`, {
      status: 403,
      details: { path: p, allowed: [...entries] },
    });
  }
}

export function checkWriteAllowed(p: string, entries: readonly string[]): void {
  if (!pathAllowed(p, entries)) {
    throw new FerryError('path_not_allowed', `${p} is outside the agent's restore paths (FERRY_AGENT_RESTORE_PATHS: ${entries.join(',') || 'empty'}); the agent writes nothing else`, {
      status: 403,
      details: { path: p, allowed: [...entries] },
    });
  }
}

export function splitList(v: string | undefined): string[] {
  return (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}
