import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataClient } from '../../../node-agent/src/session/data.ts';
import type { AgentHubClient } from '../../../proto/src/load.ts';
import { enrollDataAgent, startTestHub, type TestHub } from './harness.ts';

const BOUND = 4 * 1024 * 1024;
const MiB = 1024 * 1024;
let hub: TestHub;
const dirs: string[] = [];
const clients: AgentHubClient[] = [];

beforeAll(async () => {
  hub = await startTestHub({ relayBoundBytes: BOUND });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await hub.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Transport = 'grpc' | 'data plane';

/** An enrolled agent's data client (the code behind TaskContext.openPush/openPull/call). */
async function agentData(transport: Transport): Promise<{ agentId: string; data: DataClient }> {
  const { agentId, client, target } = await enrollDataAgent(hub, { dirs, clients });
  const route = transport === 'data plane' ? { target: () => target, unreachable: (e: Error) => { throw e; } } : undefined;
  return { agentId, data: new DataClient(() => client, undefined, route) };
}

/** Deterministic pseudo-random 1 MiB frames, so both ends can hash without holding 50 MB. */
function frame(i: number): Buffer {
  const b = Buffer.alloc(MiB);
  let x = (i + 1) * 2654435761;
  for (let o = 0; o < b.length; o += 4) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    b.writeUInt32LE(x, o);
  }
  return b;
}

describe.each([['grpc'], ['data plane']] as [Transport][])('relay over %s', (transport) => {
  const sfx = transport === 'grpc' ? 'g' : 'd';
  it('passes 50 MB from one agent Push to another agent Pull with bounded buffering', async () => {
    const a = await agentData(transport);
    const b = await agentData(transport);
    const ch = hub.agents.relay.openChannel(`mig_t.unit_1_${sfx}`, { producer: a.agentId, consumer: b.agentId });
    const frames = 50;

    const producer = (async () => {
      const h = createHash('sha256');
      const sink = await a.data.openPush(ch.name);
      for (let i = 0; i < frames; i++) {
        const f = frame(i);
        h.update(f);
        await sink.write(f);
      }
      const ack = await sink.end();
      return { ack, digest: h.digest('hex') };
    })();
    const consumer = (async () => {
      const h = createHash('sha256');
      let bytes = 0;
      let n = 0;
      for await (const f of b.data.openPull(ch.name)) {
        h.update(f);
        bytes += f.length;
        // Slow the consumer down now and then so the producer runs into the bound.
        if (++n % 5 === 0) await new Promise((r) => setTimeout(r, 20));
      }
      return { bytes, digest: h.digest('hex') };
    })();

    const [p, c] = await Promise.all([producer, consumer]);
    expect(c.bytes).toBe(frames * MiB);
    expect(c.digest).toBe(p.digest);
    expect(p.ack).toEqual({ frames, bytes: frames * MiB });
    expect(ch.stats.bytesIn).toBe(frames * MiB);
    console.log(`relay 50 MB over ${transport}: max buffered ${ch.stats.maxBufferedBytes} bytes of a ${BOUND} bound`);
    expect(ch.stats.maxBufferedBytes).toBeGreaterThan(0);
    expect(ch.stats.maxBufferedBytes).toBeLessThanOrEqual(BOUND);
    // A drained channel leaves the relay.
    expect(hub.agents.relay.get(ch.name)).toBeUndefined();
  });

  it('feeds a hub-local consumer (backup path) and serves a hub-local producer (restore path)', async () => {
    const a = await agentData(transport);
    const up = hub.agents.relay.openChannel(`bkp_t.up_${sfx}`, { producer: a.agentId });
    const consumed = (async () => {
      let bytes = 0;
      for await (const f of up) bytes += f.length;
      return bytes;
    })();
    const sink = await a.data.openPush(up.name);
    for (let i = 0; i < 8; i++) await sink.write(frame(i));
    expect(await sink.end()).toEqual({ frames: 8, bytes: 8 * MiB });
    expect(await consumed).toBe(8 * MiB);
    expect(up.stats.maxBufferedBytes).toBeLessThanOrEqual(BOUND);

    const down = hub.agents.relay.openChannel(`rst_t.down_${sfx}`, { consumer: a.agentId });
    const writer = (async () => {
      for (let i = 0; i < 6; i++) await down.write(frame(i));
      down.end();
    })();
    let got = 0;
    for await (const f of a.data.openPull(down.name)) got += f.length;
    await writer;
    expect(got).toBe(6 * MiB);
  });

  it('refuses an agent that is not the channel producer, and an unknown channel', async () => {
    const a = await agentData(transport);
    const b = await agentData(transport);
    hub.agents.relay.openChannel(`job_t.owned_${sfx}`, { producer: a.agentId });
    const sink = await b.data.openPush(`job_t.owned_${sfx}`);
    await expect(
      (async () => {
        await sink.write(Buffer.from('x'));
        await sink.end();
      })(),
    ).rejects.toThrow(/is not the producer of relay channel job_t.owned_/);
    await expect(
      (async () => {
        for await (const _f of b.data.openPull(`job_t.missing_${sfx}`)) void _f;
      })(),
    ).rejects.toThrow(/relay channel "job_t.missing_.*" is not open/);
  });

  it('answers Call through a registered handler with the caller identity', async () => {
    const a = await agentData(transport);
    const method = `test.add.${transport.replace(' ', '_')}`;
    hub.agents.registerCall(method, (agentId, p) => ({ agentId, sum: (p as { x: number; y: number }).x + (p as { x: number; y: number }).y }));
    expect(await a.data.call(method, { x: 2, y: 40 })).toEqual({ agentId: a.agentId, sum: 42 });
    await expect(a.data.call('test.nope', {})).rejects.toThrow(/no handler for call "test.nope"/);
  });
});
