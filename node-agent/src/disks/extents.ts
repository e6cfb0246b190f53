import { execFile } from 'node:child_process';
import type { Extent } from './types.ts';

/**
 * Data extents of a file from lseek(SEEK_DATA/SEEK_HOLE). Node has no lseek binding, so a tiny
 * python3 helper does the seeking (it reads no data, only walks the extent map); without
 * python3, or on a filesystem that does not support it, the whole file counts as allocated,
 * which is always correct, only slower on sparse files.
 */
const SCRIPT = `
import os, sys, json
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
out = []
off = 0
try:
    while off < size:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            break
        h = os.lseek(fd, d, os.SEEK_HOLE)
        out.append([d, h - d])
        off = h
except (OSError, AttributeError):
    out = [[0, size]]
print(json.dumps(out))
`;

let pythonMissing = false;

export async function dataExtents(file: string, size: number): Promise<Extent[]> {
  const whole = size > 0 ? [{ offset: 0, length: size }] : [];
  if (pythonMissing || size === 0) return whole;
  try {
    const out = await new Promise<string>((resolve, reject) =>
      execFile('python3', ['-c', SCRIPT, file], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    const pairs = JSON.parse(out) as [number, number][];
    return pairs.map(([offset, length]) => ({ offset, length: Math.min(length, size - offset) })).filter((e) => e.length > 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') pythonMissing = true;
    return whole;
  }
}
