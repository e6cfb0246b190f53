import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adoptReadBuffer } from '../../proto/src/socket-reads.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A Unix-socket server whose accepted connection reads through `adoptReadBuffer`. */
async function receive(payload: Buffer, opts: { pauseEvery?: number; writeBeforeAdopt?: boolean }): Promise<{ adopted: boolean; digest: string; reads: number; bytes: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-reads-'));
  dirs.push(dir);
  const sock = path.join(dir, 's.sock');
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      const hash = createHash('sha256');
      let reads = 0;
      let bytes = 0;
      let adopted = false;
      const start = () => {
        adopted = adoptReadBuffer(socket, Buffer.alloc(64 * 1024), (b) => {
          hash.update(b);
          bytes += b.length;
          reads++;
          if (opts.pauseEvery && reads % opts.pauseEvery === 0) {
            setTimeout(() => socket.resume(), 2);
            return false;
          }
          return true;
        });
        if (!adopted) socket.on('data', (b: Buffer) => void (hash.update(b), (bytes += b.length)));
      };
      socket.on('end', () => {
        server.close();
        socket.end();
        resolve({ adopted, digest: hash.digest('hex'), reads, bytes });
      });
      socket.on('error', reject);
      // Let the first bytes land in the socket's own buffer first: they must not be lost.
      if (opts.writeBeforeAdopt) setTimeout(start, 50);
      else start();
    });
    server.listen(sock, () => {
      const c = net.connect(sock, () => c.end(payload));
      c.on('error', reject);
    });
  });
}

describe('adoptReadBuffer', () => {
  it('reads an accepted connection through one reused buffer, every byte once, in order', async () => {
    const payload = randomBytes(8 * 1024 * 1024);
    const r = await receive(payload, {});
    expect(r.adopted).toBe(true);
    expect(r.bytes).toBe(payload.length);
    expect(r.digest).toBe(createHash('sha256').update(payload).digest('hex'));
    expect(r.reads).toBeGreaterThan(payload.length / (64 * 1024) - 1);
  });

  it('pauses when the callback says so and resumes on socket.resume()', async () => {
    const payload = randomBytes(4 * 1024 * 1024);
    const r = await receive(payload, { pauseEvery: 3 });
    expect(r.adopted).toBe(true);
    expect(r.digest).toBe(createHash('sha256').update(payload).digest('hex'));
  });

  it('hands over bytes the socket had already buffered before the switch', async () => {
    const payload = randomBytes(256 * 1024);
    const r = await receive(payload, { writeBeforeAdopt: true });
    expect(r.adopted).toBe(true);
    expect(r.bytes).toBe(payload.length);
    expect(r.digest).toBe(createHash('sha256').update(payload).digest('hex'));
  });
});
