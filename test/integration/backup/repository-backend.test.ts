import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalDiskBackend, type RepositoryBackend } from '../../../hub/src/backup/repository/index.ts';
import { tempDir } from './repository-helpers.ts';

/**
 * The RepositoryBackend contract (backend.ts), run against every implementation. A new
 * backend (S3…) adds one line to BACKENDS.
 */
const BACKENDS: [string, () => Promise<{ backend: RepositoryBackend; cleanup: () => Promise<void> }>][] = [
  [
    'LocalDiskBackend',
    async () => {
      const root = await tempDir();
      return { backend: new LocalDiskBackend(root), cleanup: () => fs.rm(root, { recursive: true, force: true }) };
    },
  ],
];

for (const [name, make] of BACKENDS) {
  describe(`${name} honours the backend contract`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    async function fresh(): Promise<RepositoryBackend> {
      const { backend, cleanup } = await make();
      cleanups.push(cleanup);
      await backend.recover({ now: Date.now(), olderThanMs: 0 });
      return backend;
    }

    it('puts, gets, stats, overwrites and deletes objects', async () => {
      const b = await fresh();
      await b.put('snapshots/a.json', Buffer.from('one'));
      await b.put('chunks/ab/abc', [Buffer.from([1]), Buffer.from('payload')]);
      expect((await b.get('snapshots/a.json')).toString()).toBe('one');
      expect(await b.get('chunks/ab/abc')).toEqual(Buffer.from([1, ...Buffer.from('payload')]));
      expect(await b.stat('chunks/ab/abc')).toMatchObject({ key: 'chunks/ab/abc', size: 8 });
      await b.put('snapshots/a.json', Buffer.from('two'));
      expect((await b.get('snapshots/a.json')).toString()).toBe('two');
      expect(await b.has('snapshots/a.json')).toBe(true);
      await b.delete('snapshots/a.json');
      await b.delete('snapshots/a.json'); // idempotent
      expect(await b.has('snapshots/a.json')).toBe(false);
      expect(await b.stat('snapshots/a.json')).toBeNull();
      await expect(b.get('snapshots/a.json')).rejects.toMatchObject({ code: 'object_not_found' });
    });

    it('lists by prefix, without temp files', async () => {
      const b = await fresh();
      for (const k of ['chunks/00/0011', 'chunks/01/0122', 'snapshots/s1.json', 'pending/x.json']) await b.put(k, Buffer.from(k));
      await b.put('chunks/02/0233', Buffer.from('deferred'), { deferDirSync: true });
      await b.flush();
      const keys = async (prefix: string): Promise<string[]> => {
        const out: string[] = [];
        for await (const o of b.list(prefix)) out.push(o.key);
        return out.sort();
      };
      expect(await keys('chunks/')).toEqual(['chunks/00/0011', 'chunks/01/0122', 'chunks/02/0233']);
      expect(await keys('chunks/01/')).toEqual(['chunks/01/0122']);
      expect(await keys('snapshots/')).toEqual(['snapshots/s1.json']);
      expect(await keys('nothing/')).toEqual([]);
    });

    it('refuses keys that could escape the root', async () => {
      const b = await fresh();
      for (const k of ['../x', '/etc/passwd', 'a//b', 'chunks/../../x', '']) await expect(b.put(k, Buffer.from('x'))).rejects.toThrow(TypeError);
    });
  });
}

describe('LocalDiskBackend crash debris', () => {
  it('removes only temp files older than asked, never objects', async () => {
    const root = await tempDir();
    try {
      const b = new LocalDiskBackend(root);
      await b.recover({ now: Date.now(), olderThanMs: 0 });
      await b.put('snapshots/keep.json', Buffer.from('{}'));
      await fs.writeFile(path.join(root, 'tmp', 'old.tmp'), 'x');
      await fs.writeFile(path.join(root, 'tmp', 'new.tmp'), 'y');
      const then = new Date(Date.now() - 3_600_000);
      await fs.utimes(path.join(root, 'tmp', 'old.tmp'), then, then);
      expect(await b.recover({ now: Date.now(), olderThanMs: 60_000 })).toEqual({ removedTempFiles: 1 });
      expect(await fs.readdir(path.join(root, 'tmp'))).toEqual(['new.tmp']);
      expect(await b.has('snapshots/keep.json')).toBe(true);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
