/**
 * The qcow2 series of the backup benchmark: the same image as a qcow2 (zeros unallocated),
 * changed through qemu-nbd so its persistent dirty bitmap records the writes, as a VM would.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import { NbdClient } from '../../node-agent/src/disks/nbd-client.ts';
import { startQemuNbd } from '../../node-agent/src/disks/qemu-tools.ts';

export function ensureQemu(): void {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
  } catch {
    console.log('installing qemu-utils from Debian...');
    execFileSync('apt-get', ['install', '-y', '-qq', 'qemu-utils'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
}

export function rawToQcow2(raw: string, qcow2: string): void {
  execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
}

/** Writes every 4 KiB block where `after` differs from `before` into `qcow2` through NBD (runs coalesced). */
export async function applyChanges(before: string, after: string, qcow2: string): Promise<{ writes: number; bytes: number }> {
  const a = await fs.open(before, 'r');
  const b = await fs.open(after, 'r');
  const srv = await startQemuNbd(qcow2, { writable: true });
  const nbd = await NbdClient.connect(srv.socketPath);
  const PIECE = 4 * 1024 * 1024;
  const BLOCK = 4096;
  let writes = 0;
  let bytes = 0;
  try {
    const { size } = await b.stat();
    const x = Buffer.alloc(PIECE);
    const y = Buffer.alloc(PIECE);
    for (let off = 0; off < size; off += PIECE) {
      const n = Math.min(PIECE, size - off);
      await a.read(x, 0, n, off);
      await b.read(y, 0, n, off);
      let run = -1;
      const flush = async (end: number) => {
        if (run < 0) return;
        await nbd.write(off + run, Buffer.from(y.subarray(run, end)));
        writes++;
        bytes += end - run;
        run = -1;
      };
      for (let p = 0; p < n; p += BLOCK) {
        const same = x.compare(y, p, p + BLOCK, p, p + BLOCK) === 0;
        if (!same && run < 0) run = p;
        if (same) await flush(p);
      }
      await flush(n);
    }
    await nbd.flush();
  } finally {
    await nbd.close();
    await srv.stop();
    await a.close();
    await b.close();
  }
  return { writes, bytes };
}
