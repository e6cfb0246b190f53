import { describe, expect, it } from 'vitest';
import { Relay, RelayAborted } from '../../../hub/src/agents/relay.ts';

const ticks = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('relay channel', () => {
  it('holds a writer back at the bound until the reader takes frames', async () => {
    const relay = new Relay({ boundBytes: 100 });
    const ch = relay.openChannel('c1');
    let written = 0;
    const writer = (async () => {
      for (let i = 0; i < 10; i++) {
        await ch.write(Buffer.alloc(40));
        written++;
      }
      ch.end();
    })();
    await ticks();
    // Two 40-byte frames fit under 100; the third waits.
    expect(written).toBe(2);
    expect(ch.stats.bufferedBytes).toBe(80);
    let read = 0;
    for await (const f of ch) {
      read += f.length;
      expect(ch.stats.bufferedBytes).toBeLessThanOrEqual(100);
    }
    await writer;
    expect(read).toBe(400);
    expect(ch.stats.maxBufferedBytes).toBe(80);
    await ch.drained;
    expect(relay.get('c1')).toBeUndefined();
  });

  it('lets a frame larger than the bound pass alone', async () => {
    const ch = new Relay({ boundBytes: 10 }).openChannel('big');
    await ch.write(Buffer.alloc(50));
    ch.end();
    const got: number[] = [];
    for await (const f of ch) got.push(f.length);
    expect(got).toEqual([50]);
  });

  it('abort wakes a blocked writer and the reader with the reason', async () => {
    const ch = new Relay({ boundBytes: 10 }).openChannel('ab');
    await ch.write(Buffer.alloc(10));
    const blocked = ch.write(Buffer.alloc(10));
    ch.abort('source agent went away');
    await expect(blocked).rejects.toBeInstanceOf(RelayAborted);
    await expect(blocked).rejects.toThrow('relay channel ab was abandoned: source agent went away');
    await expect(ch.drained).rejects.toThrow(/source agent went away/);
    await expect((async () => {
      for await (const _f of ch) void _f;
    })()).rejects.toThrow(/source agent went away/);
  });

  it('refuses a second channel with the same name and a second reader', async () => {
    const relay = new Relay();
    const ch = relay.openChannel('dup');
    expect(() => relay.openChannel('dup')).toThrow(/already open/);
    ch.end();
    const it1 = ch[Symbol.asyncIterator]();
    await it1.next();
    await expect(ch[Symbol.asyncIterator]().next()).rejects.toThrow(/already has a reader/);
  });
});
