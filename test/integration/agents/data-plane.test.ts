import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataClient, type DataPlaneRoute } from '../../../node-agent/src/session/data.ts';
import { openDataPlanePull, openDataPlanePush, type DataPlaneTarget } from '../../../node-agent/src/session/data-plane-client.ts';
import { DATA_FRAME, FrameParser, frameHeader, jsonFrame, MAX_DATA_FRAME_BYTES } from '../../../proto/src/data-plane.ts';
import type { AgentHubClient } from '../../../proto/src/load.ts';
import { enrollDataAgent, startTestHub, waitFor, type TestHub } from './harness.ts';

const MiB = 1024 * 1024;
let hub: TestHub;
const dirs: string[] = [];
const clients: AgentHubClient[] = [];

beforeAll(async () => {
  hub = await startTestHub({ relayBoundBytes: 4 * MiB });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await hub.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function agent(): ReturnType<typeof enrollDataAgent> {
  return enrollDataAgent(hub, { dirs, clients });
}

/** A raw TLS connection with the agent's identity, for speaking broken protocol at the hub. */
function rawConnect(t: DataPlaneTarget, withCert = true): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: t.host, port: t.port, ca: t.caPem, ...(withCert ? { key: t.keyPem, cert: t.certPem } : {}), checkServerIdentity: () => undefined });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything the hub sends until it closes, as frames. */
async function replies(s: tls.TLSSocket): Promise<{ type: number; json: Record<string, unknown> | null }[]> {
  const parser = new FrameParser();
  const out: { type: number; json: Record<string, unknown> | null }[] = [];
  try {
    for await (const chunk of s as AsyncIterable<Buffer>) {
      for (const f of parser.push(chunk)) out.push({ type: f.type, json: f.type === DATA_FRAME.data ? null : (JSON.parse(f.payload.toString() || 'null') as Record<string, unknown>) });
    }
  } catch {
    // reset by the hub after its reply: what was read is the answer
  }
  return out;
}

describe('data plane', () => {
  it('parses frames split at every byte boundary and whole frames inside one chunk', () => {
    const payload = Buffer.from('0123456789abcdef');
    const stream = Buffer.concat([frameHeader(DATA_FRAME.data, payload.length), payload, jsonFrame(DATA_FRAME.ack, { frames: 1, bytes: 16 })]);
    for (let cut = 1; cut < stream.length; cut++) {
      const p = new FrameParser();
      const frames = [...p.push(stream.subarray(0, cut)), ...p.push(stream.subarray(cut))];
      expect(frames.map((f) => f.type)).toEqual([DATA_FRAME.data, DATA_FRAME.ack]);
      expect(frames[0]!.payload.equals(payload)).toBe(true);
      expect(JSON.parse(frames[1]!.payload.toString())).toEqual({ frames: 1, bytes: 16 });
      expect(p.idle).toBe(true);
    }
    // Transient chunks (a reused read buffer): every frame is a copy, also one whole in a chunk.
    for (let cut = 0; cut <= stream.length; cut++) {
      const p = new FrameParser(true);
      const a = Buffer.from(stream.subarray(0, cut));
      const b = Buffer.from(stream.subarray(cut));
      const frames = [...p.push(a), ...p.push(b)];
      a.fill(0xee);
      b.fill(0xee);
      expect(frames[0]!.payload.equals(payload)).toBe(true);
      expect(JSON.parse(frames[1]!.payload.toString())).toEqual({ frames: 1, bytes: 16 });
    }
    expect(() => new FrameParser().push(frameHeader(9 as never, 0))).toThrow(/unknown data plane frame type 9/);
    expect(() => new FrameParser().push(frameHeader(DATA_FRAME.data, MAX_DATA_FRAME_BYTES + 1))).toThrow(/over the/);
  });

  it('counts bytes per transport, and a producer that disconnects mid-stream aborts the channel', async () => {
    const a = await agent();
    const before = hub.agents.relay.transport.dataPlane.bytesIn;
    const ch = hub.agents.relay.openChannel('dp_cut', { producer: a.agentId });
    let got = 0;
    const consumed = (async () => {
      for await (const f of ch) got += f.length;
      return got;
    })();
    consumed.catch(() => undefined);
    const controller = new AbortController();
    const sink = await openDataPlanePush(a.target, ch.name, controller.signal);
    await sink.write(Buffer.alloc(MiB, 1));
    await sink.write(Buffer.alloc(MiB, 2));
    await waitFor(() => got >= MiB, 'the first frame at the consumer');
    controller.abort(); // the agent dies: its connection is cut without EOF
    await expect(consumed).rejects.toThrow(/producer agent disconnected/);
    expect(hub.agents.relay.transport.dataPlane.bytesIn - before).toBeGreaterThanOrEqual(MiB);
  });

  it('refuses a client without a certificate at the TLS handshake, and bad first frames with an ERROR', async () => {
    const a = await agent();
    await expect(rawConnect(a.target, false).then(async (s) => replies(s))).resolves.toEqual([]);

    let s = await rawConnect(a.target);
    s.write(jsonFrame(DATA_FRAME.hello, { v: 99, op: 'pull', channel: 'x' }));
    expect((await replies(s))[0]).toMatchObject({ type: DATA_FRAME.error, json: { code: 'data_plane_version' } });

    s = await rawConnect(a.target);
    s.write(frameHeader(DATA_FRAME.data, 3));
    s.write('abc');
    expect((await replies(s))[0]).toMatchObject({ type: DATA_FRAME.error, json: { code: 'data_plane_protocol' } });

    s = await rawConnect(a.target);
    s.write(Buffer.from([DATA_FRAME.hello, 0xff, 0xff, 0xff, 0xff]));
    expect((await replies(s))[0]).toMatchObject({ type: DATA_FRAME.error, json: { code: 'data_plane_protocol' } });

    s = await rawConnect(a.target);
    s.write(jsonFrame(DATA_FRAME.hello, { v: 1, op: 'pull', channel: 'dp_nothing_here' }));
    expect((await replies(s))[0]).toMatchObject({ type: DATA_FRAME.error, json: { code: 'relay_channel_not_found' } });
    // The hub is still serving.
    expect(hub.agents.relay.get('dp_nothing_here')).toBeUndefined();
  });

  it('cuts a revoked agent off mid-pull and refuses its next connection', async () => {
    const a = await agent();
    const ch = hub.agents.relay.openChannel('dp_revoke', { consumer: a.agentId });
    void ch.write(Buffer.alloc(MiB, 7)).catch(() => undefined);
    const pulled = (async () => {
      let n = 0;
      for await (const f of openDataPlanePull(a.target, ch.name)) {
        n += f.length;
        if (n >= MiB) hub.agents.registry.revoke(a.agentId);
      }
      return n;
    })();
    await expect(pulled).rejects.toThrow();
    await waitFor(() => ch.aborted !== undefined, 'channel aborted by the cut');
    const again = hub.agents.relay.openChannel('dp_revoke2', { consumer: a.agentId });
    await expect(
      (async () => {
        for await (const _f of openDataPlanePull(a.target, again.name)) void _f;
      })(),
    ).rejects.toThrow(/was revoked/);
    again.abort('test done');
  });

  it('serves the built-in agent on a 0600 Unix socket that speaks for no other agent', async () => {
    const local = await startTestHub({ builtin: true });
    try {
      const builtinId: string = await waitFor(() => {
        const id = local.agents.builtin.agentId;
        return id && local.agents.sessions.isOnline(id) ? id : undefined;
      }, 'built-in agent online', 60_000);
      const socketPath = path.join(local.dataDir, 'run', 'data.sock');
      expect(statSync(socketPath).mode & 0o777).toBe(0o600);
      expect(statSync(path.dirname(socketPath)).mode & 0o777).toBe(0o700);
      // The hub handed the socket to its child and to nobody else.
      expect(readFileSync(`/proc/${local.agents.builtin.pid}/environ`, 'utf8').split('\0')).toContain(`FERRY_AGENT_DATA_SOCKET=${socketPath}`);

      const target = (agentId: string): DataPlaneTarget => ({ host: '', port: 0, caPem: '', keyPem: '', certPem: '', local: { socketPath, agentId } });
      const ch = local.agents.relay.openChannel('dp_local', { producer: builtinId });
      const consumed = (async () => {
        let n = 0;
        for await (const f of ch) n += f.length;
        return n;
      })();
      const sink = await openDataPlanePush(target(builtinId), ch.name);
      await sink.write(Buffer.alloc(MiB, 5));
      expect(await sink.end()).toEqual({ frames: 1, bytes: MiB });
      expect(await consumed).toBe(MiB);
      expect(local.agents.relay.transport.dataPlane.localConnections).toBeGreaterThanOrEqual(1);

      const other = local.agents.relay.openChannel('dp_local_other', { producer: 'agt_someone' });
      const refused = await openDataPlanePush(target('agt_someone'), other.name);
      await expect(
        (async () => {
          await refused.write(Buffer.alloc(16));
          await refused.end();
        })(),
      ).rejects.toThrow(/only for the built-in agent/);
      other.abort('test done');
    } finally {
      await local.cleanup();
    }
  }, 90_000);

  it('falls back to gRPC when the data plane cannot be reached, and says so once', async () => {
    const a = await agent();
    const unreachable: string[] = [];
    const dead = { ...a.target, port: 1 };
    let offered = true;
    const route: DataPlaneRoute = {
      target: () => (offered ? dead : null),
      unreachable: (e) => {
        unreachable.push(e.code);
        offered = false;
      },
    };
    const data = new DataClient(() => a.client, undefined, route);
    const grpcBefore = hub.agents.relay.transport.grpc.bytesIn;
    const ch = hub.agents.relay.openChannel('dp_fallback', { producer: a.agentId });
    const consumed = (async () => {
      let n = 0;
      for await (const f of ch) n += f.length;
      return n;
    })();
    const sink = await data.openPush(ch.name);
    await sink.write(Buffer.alloc(MiB, 3));
    expect(await sink.end()).toEqual({ frames: 1, bytes: MiB });
    expect(await consumed).toBe(MiB);
    expect(unreachable).toEqual(['data_plane_unreachable']);
    expect(hub.agents.relay.transport.grpc.bytesIn - grpcBefore).toBe(MiB);
  });
});
