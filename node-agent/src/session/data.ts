import type { ClientWritableStream } from '@grpc/grpc-js';
import { FerryError } from '../../../common/src/errors.ts';
import { loadAgentProto, type AgentHubClient, type CallResponse__Output, type DataFrame, type DataFrame__Output, type PushAck__Output } from '../../../proto/src/load.ts';
import type { DataSink } from '../tasks/types.ts';
import { grpcStatusOf } from './credentials.ts';
import { dataFrameSerializer } from './data-frame.ts';
import { DataPlaneUnreachable, openDataPlanePull, openDataPlanePush, type DataPlaneTarget } from './data-plane-client.ts';

/** Where bulk data goes: the hub's data plane while it is offered and reachable, else gRPC. */
export interface DataPlaneRoute {
  target(): DataPlaneTarget | null;
  /** The data plane could not be reached: use gRPC for a while. */
  unreachable(e: DataPlaneUnreachable): void;
}

/** Push with the in-place DataFrame encoder (data-frame.ts): one copy less per bulk frame. */
const PUSH = loadAgentProto().AgentHub.service.Push;
const pushSerialize = dataFrameSerializer(PUSH.requestSerialize as (f: DataFrame) => Buffer);

function remoteError(e: unknown, what: string): FerryError {
  if (e instanceof FerryError) return e;
  const s = grpcStatusOf(e);
  // UNAVAILABLE/ABORTED/CANCELLED: the hub or the peer went away; a redo of the unit can succeed.
  const retryable = s ? [1, 4, 10, 14].includes(s.code) : true;
  return new FerryError(s?.ferryCode ?? 'hub_call_failed', `${what}: ${s?.details ?? (e instanceof Error ? e.message : String(e))}`, { retryable, cause: e });
}

/**
 * Bulk data and small calls to the hub, bound to one task's abort signal: aborting the task
 * cancels its streams. Bulk data takes the data plane (data-plane-client.ts) when `route`
 * offers one, and gRPC Push/Pull otherwise or when the data plane cannot be reached.
 */
export class DataClient {
  constructor(
    private readonly client: () => AgentHubClient,
    private readonly signal?: AbortSignal,
    private readonly route?: DataPlaneRoute,
  ) {}

  async openPush(channel: string): Promise<DataSink> {
    const t = this.route?.target();
    if (t) {
      try {
        return await openDataPlanePush(t, channel, this.signal);
      } catch (e) {
        if (!(e instanceof DataPlaneUnreachable) || this.signal?.aborted) throw e;
        this.route!.unreachable(e);
      }
    }
    return this.grpcPush(channel);
  }

  async *openPull(channel: string): AsyncIterable<Buffer> {
    const t = this.route?.target();
    if (t) {
      const it = openDataPlanePull(t, channel, this.signal)[Symbol.asyncIterator]();
      let first: IteratorResult<Buffer> | null = null;
      try {
        first = await it.next();
      } catch (e) {
        if (!(e instanceof DataPlaneUnreachable) || this.signal?.aborted) throw e;
        this.route!.unreachable(e);
      }
      if (first) {
        if (first.done) return;
        yield first.value;
        yield* { [Symbol.asyncIterator]: () => it };
        return;
      }
    }
    yield* this.grpcPull(channel);
  }

  private async grpcPush(channel: string): Promise<DataSink> {
    let ackResolve!: (a: PushAck__Output) => void;
    let ackReject!: (e: unknown) => void;
    const ack = new Promise<PushAck__Output>((res, rej) => {
      ackResolve = res;
      ackReject = rej;
    });
    ack.catch(() => undefined);
    const call: ClientWritableStream<DataFrame> = this.client().makeClientStreamRequest<DataFrame, PushAck__Output>(
      PUSH.path,
      pushSerialize,
      PUSH.responseDeserialize,
      (err, r) => (err || !r ? ackReject(err ?? new Error('empty ack')) : ackResolve(r)),
    );
    let failure: unknown;
    ack.catch((e: unknown) => (failure = e));
    const onAbort = () => call.cancel();
    this.signal?.addEventListener('abort', onAbort, { once: true });
    let seq = 0;
    let frames = 0;
    let bytes = 0;
    let closed = false;
    const send = async (f: DataFrame) => {
      if (failure) throw remoteError(failure, `push to ${channel}`);
      if (!call.write(f)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            call.off('drain', done);
            resolve();
          };
          call.on('drain', done);
          // A failed call never drains; the ack rejection wakes us instead.
          ack.then(done, done);
        });
      }
      if (failure) throw remoteError(failure, `push to ${channel}`);
    };
    return {
      write: async (frame: Buffer) => {
        if (closed) throw new FerryError('push_closed', `push to ${channel} was already ended`);
        await send({ channel, seq: seq++, data: frame });
        frames++;
        bytes += frame.length;
      },
      end: async () => {
        if (closed) throw new FerryError('push_closed', `push to ${channel} was already ended`);
        closed = true;
        try {
          await send({ channel, seq: seq++, eof: true });
          call.end();
          await ack;
          return { frames, bytes };
        } catch (e) {
          throw remoteError(e, `push to ${channel}`);
        } finally {
          this.signal?.removeEventListener('abort', onAbort);
        }
      },
      abort: (reason: string) => {
        if (closed) return;
        closed = true;
        this.signal?.removeEventListener('abort', onAbort);
        call.write({ channel, seq: seq++, error: reason || 'aborted' });
        call.end();
      },
    };
  }

  private async *grpcPull(channel: string): AsyncIterable<Buffer> {
    const call = this.client().Pull({ channel });
    const onAbort = () => call.cancel();
    this.signal?.addEventListener('abort', onAbort, { once: true });
    let expect = 0;
    try {
      for await (const f of call as AsyncIterable<DataFrame__Output>) {
        if (f.seq !== expect) throw new FerryError('relay_protocol', `pull from ${channel}: frame ${f.seq} arrived, expected ${expect}`, { retryable: true });
        expect++;
        if (f.error) throw new FerryError('relay_aborted', `pull from ${channel}: ${f.error}`, { retryable: true });
        if (f.data.length > 0) yield f.data;
        if (f.eof) return;
      }
      throw new FerryError('relay_protocol', `pull from ${channel} ended without eof`, { retryable: true });
    } catch (e) {
      throw remoteError(e, `pull from ${channel}`);
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  async call(method: string, payload: unknown): Promise<unknown> {
    try {
      const r = await new Promise<CallResponse__Output>((resolve, reject) => {
        const c = this.client().Call({ method, payload_json: JSON.stringify(payload ?? null) }, { deadline: Date.now() + 60_000 }, (err, res) =>
          err || !res ? reject(err ?? new Error('empty response')) : resolve(res),
        );
        this.signal?.addEventListener('abort', () => c.cancel(), { once: true });
      });
      return r.result_json ? JSON.parse(r.result_json) : null;
    } catch (e) {
      throw remoteError(e, `call ${method}`);
    }
  }
}
