import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { FerryError } from '../../../common/src/errors.ts';
import { DATA_FRAME, DATA_PLANE_VERSION, jsonFrame, parseJsonPayload, readFrames, writeFrame, type WireFrame } from '../../../proto/src/data-plane.ts';
import type { DataSink } from '../tasks/types.ts';
import { checkHubIdentity } from './credentials.ts';

/** Where the hub's data plane is and the agent's TLS identity for it. */
export interface DataPlaneTarget {
  host: string;
  port: number;
  caPem: string;
  keyPem: string;
  certPem: string;
  /** The built-in agent: the hub's Unix socket instead of TLS (the hub trusts it by file permissions). */
  local?: { socketPath: string; agentId: string };
}

/** The connection itself could not be made (refused, unreachable, TLS failure): gRPC may still work. */
export class DataPlaneUnreachable extends FerryError {
  constructor(target: DataPlaneTarget, cause: unknown) {
    super('data_plane_unreachable', `cannot reach the hub's data plane at ${target.local?.socketPath ?? `${target.host}:${target.port}`}: ${cause instanceof Error ? cause.message : String(cause)}`, { retryable: true, cause });
  }
}

const CONNECT_TIMEOUT_MS = 5000;

function connect(t: DataPlaneTarget, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const isIp = /^[\d.]+$/.test(t.host) || t.host.includes(':');
    const socket = t.local ? net.connect(t.local.socketPath) : tls.connect({
      host: t.host,
      port: t.port,
      ca: t.caPem,
      key: t.keyPem,
      cert: t.certPem,
      // Same rule as gRPC: the pinned CA is private to this hub, and only its server certificate has serverAuth.
      checkServerIdentity: checkHubIdentity,
      ...(isIp ? {} : { servername: t.host }),
      minVersion: 'TLSv1.3',
    });
    const timer = setTimeout(() => fail(new Error(`no TLS connection within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    const onAbort = () => fail(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    function fail(e: Error): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(new DataPlaneUnreachable(t, e));
    }
    socket.once('error', fail);
    socket.once(t.local ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      signal?.removeEventListener('abort', onAbort);
      if (!t.local) socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

function hello(t: DataPlaneTarget, op: 'push' | 'pull', channel: string): Buffer {
  return jsonFrame(DATA_FRAME.hello, { v: DATA_PLANE_VERSION, op, channel, ...(t.local ? { agent_id: t.local.agentId } : {}) });
}

/** The hub's ERROR frame as the FerryError it stood for. */
function remoteError(f: WireFrame, what: string): FerryError {
  const e = parseJsonPayload<{ code?: string; message?: string; retryable?: boolean }>(f.payload, 'ERROR');
  return new FerryError(e.code ?? 'relay_aborted', `${what}: ${e.message ?? 'the hub gave no reason'}`, { retryable: e.retryable ?? true });
}

function lostError(what: string, cause?: unknown): FerryError {
  if (cause instanceof FerryError) return cause;
  const why = cause instanceof Error ? `: ${cause.message}` : '';
  return new FerryError('relay_protocol', `${what}: the data plane connection ended before the hub confirmed${why}`, { retryable: true, cause });
}

/**
 * Push and Pull over the hub's data plane (proto/src/data-plane.ts), with the same contract as
 * the gRPC ones in data.ts. Aborting `signal` cuts the connection.
 */
export async function openDataPlanePush(t: DataPlaneTarget, channel: string, signal?: AbortSignal): Promise<DataSink> {
  const what = `push to ${channel}`;
  const socket = await connect(t, signal);
  const onAbort = () => socket.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  socket.on('error', () => undefined); // surfaced through the reply reader below
  socket.write(hello(t, 'push', channel));
  let failure: FerryError | undefined;
  // The hub says nothing until the end (ACK) unless it refuses or fails (ERROR).
  const reply = (async (): Promise<{ frames: number; bytes: number }> => {
    try {
      for await (const f of readFrames(socket)) {
        if (f.type === DATA_FRAME.ack) return parseJsonPayload<{ frames: number; bytes: number }>(f.payload, 'ACK');
        if (f.type === DATA_FRAME.error) throw remoteError(f, what);
      }
    } catch (e) {
      throw e instanceof FerryError ? e : lostError(what, e);
    }
    throw lostError(what);
  })();
  reply.catch((e: unknown) => {
    failure = e as FerryError;
    socket.destroy();
  });
  let frames = 0;
  let bytes = 0;
  let closed = false;
  const done = () => signal?.removeEventListener('abort', onAbort);
  return {
    write: async (frame: Buffer) => {
      if (closed) throw new FerryError('push_closed', `${what} was already ended`);
      if (failure) throw failure;
      const wait = writeFrame(socket, DATA_FRAME.data, frame);
      if (wait) await wait.catch(() => reply.then(() => undefined));
      if (failure) throw failure;
      frames++;
      bytes += frame.length;
    },
    end: async () => {
      if (closed) throw new FerryError('push_closed', `${what} was already ended`);
      closed = true;
      try {
        if (failure) throw failure;
        socket.write(Buffer.from([DATA_FRAME.eof, 0, 0, 0, 0]));
        const ack = await reply;
        socket.end();
        return { frames: ack.frames ?? frames, bytes: ack.bytes ?? bytes };
      } finally {
        done();
      }
    },
    abort: (reason: string) => {
      if (closed) return;
      closed = true;
      done();
      if (!socket.destroyed) socket.end(jsonFrame(DATA_FRAME.error, { code: 'producer_aborted', message: reason || 'aborted' }));
    },
  };
}

export async function* openDataPlanePull(t: DataPlaneTarget, channel: string, signal?: AbortSignal): AsyncIterable<Buffer> {
  const what = `pull from ${channel}`;
  const socket = await connect(t, signal);
  const onAbort = () => socket.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  socket.on('error', () => undefined); // surfaced by the frame reader
  try {
    socket.write(hello(t, 'pull', channel));
    try {
      for await (const f of readFrames(socket)) {
        if (f.type === DATA_FRAME.data) {
          if (f.payload.length > 0) yield f.payload;
        } else if (f.type === DATA_FRAME.eof) {
          return;
        } else if (f.type === DATA_FRAME.error) {
          throw remoteError(f, what);
        }
      }
    } catch (e) {
      if (signal?.aborted) throw new FerryError('cancelled', `${what}: cancelled`, { retryable: true, cause: e });
      throw e instanceof FerryError ? e : lostError(what, e);
    }
    throw new FerryError('relay_protocol', `${what} ended without eof`, { retryable: true });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}
