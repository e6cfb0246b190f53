import { describe, expect, it } from 'vitest';
import { FramePool } from '../../proto/src/frame-pool.ts';

describe('FramePool', () => {
  it('reuses a released frame, ignores second releases, foreign buffers and other sizes', () => {
    const pool = new FramePool(1024, 2);
    const a = pool.acquire(1024);
    a.fill(7);
    pool.release(a.subarray(10, 20)); // a view of it releases the frame
    pool.release(a); // second release: ignored, the frame is not handed out twice
    const b = pool.acquire(1024);
    expect(b.buffer).toBe(a.buffer);
    const c = pool.acquire(1024);
    expect(c.buffer).not.toBe(b.buffer);
    const odd = pool.acquire(4096);
    expect(odd.length).toBe(4096);
    pool.release(odd);
    pool.release(Buffer.alloc(1024));
    expect(pool.acquire(1024).buffer).not.toBe(odd.buffer);
  });

  it('keeps at most `keep` frames', () => {
    const pool = new FramePool(64, 1);
    const [x, y] = [pool.acquire(64), pool.acquire(64)];
    pool.release(x);
    pool.release(y);
    expect(pool.acquire(64).buffer).toBe(x.buffer);
    expect(pool.acquire(64).buffer).not.toBe(y.buffer);
  });
});
