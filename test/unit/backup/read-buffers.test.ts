import { describe, expect, it } from 'vitest';
import { ReadBuffers } from '../../../node-agent/src/tasks/read-buffers.ts';

describe('ReadBuffers', () => {
  it('reuses a buffer only after every hold on it (views included) is released', () => {
    const pool = new ReadBuffers(4096, 4);
    const a = pool.acquire();
    const chunk = a.subarray(1024, 2048);
    pool.retain(chunk);
    pool.release(a.subarray(0, 10));
    // The chunk view is still held: a new acquire must not hand out the same memory.
    const b = pool.acquire();
    expect(b.buffer).not.toBe(a.buffer);
    pool.release(chunk);
    const c = pool.acquire();
    expect(c.buffer).toBe(a.buffer);
    expect(c.length).toBe(4096);
  });

  it('ignores buffers it did not hand out and keeps at most `keep` free buffers', () => {
    const pool = new ReadBuffers(1024, 1);
    const foreign = Buffer.alloc(1024);
    pool.retain(foreign);
    pool.release(foreign);
    const x = pool.acquire();
    expect(x.buffer).not.toBe(foreign.buffer);
    const y = pool.acquire();
    pool.release(x);
    pool.release(y);
    const z1 = pool.acquire();
    const z2 = pool.acquire();
    expect([x.buffer, y.buffer]).toContain(z1.buffer);
    expect([x.buffer, y.buffer]).not.toContain(z2.buffer);
  });
});
