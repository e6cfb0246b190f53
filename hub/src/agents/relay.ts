import { FerryError, conflict } from '../../../common/src/errors.ts';

/** @default 8 MiB: eight ~1 MiB frames in flight between producer and consumer. */
export const DEFAULT_RELAY_BOUND_BYTES = 8 * 1024 * 1024;

export interface RelayChannelOptions {
  /** Agent allowed to Push into this channel; undefined = the hub writes it locally (or any agent). */
  producer?: string;
  /** Agent allowed to Pull from this channel; undefined = the hub reads it locally (or any agent). */
  consumer?: string;
  /** Most bytes buffered between writer and reader. @default DEFAULT_RELAY_BOUND_BYTES */
  boundBytes?: number;
}

export interface RelayStats {
  bufferedBytes: number;
  /** Highest bufferedBytes ever seen: proves the bound held. */
  maxBufferedBytes: number;
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
}

/** Bytes agents moved through relay channels, by transport: for /metrics and tests. */
export interface TransportStats {
  grpc: { bytesIn: number; bytesOut: number };
  dataPlane: { connections: number; localConnections: number; bytesIn: number; bytesOut: number };
}

export function newTransportStats(): TransportStats {
  return { grpc: { bytesIn: 0, bytesOut: 0 }, dataPlane: { connections: 0, localConnections: 0, bytesIn: 0, bytesOut: 0 } };
}

export class RelayAborted extends FerryError {
  constructor(channel: string, reason: string) {
    super('relay_aborted', `relay channel ${channel} was abandoned: ${reason}`, { status: 409, retryable: true });
  }
}

/**
 * One named, one-way stream of frames with a byte bound. `write` waits while the buffer is
 * full (a frame larger than the bound passes alone), so a fast producer runs at the
 * consumer's pace; that wait is what turns into gRPC flow control on Push.
 *
 * Contract: one writer, one reader (iterate once). `end()` after the last write; the reader's
 * loop then finishes and `drained` resolves. `abort(reason)` makes pending and later writes
 * and reads throw RelayAborted.
 */
export class RelayChannel implements AsyncIterable<Buffer> {
  readonly stats: RelayStats = { bufferedBytes: 0, maxBufferedBytes: 0, framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0 };
  /**
   * How the producer's frames arrive: set when a producer attaches. 'local' is the built-in
   * agent on the hub's own Unix socket (the hub's trust domain); consumers may rely on it.
   */
  producerVia: 'grpc' | 'tls' | 'local' | undefined;
  /** Resolves when the channel was ended and every frame was read; rejects on abort. */
  readonly drained: Promise<void>;
  private readonly queue: Buffer[] = [];
  private ended = false;
  private abortReason: string | undefined;
  private iterated = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriters: (() => void)[] = [];
  private resolveDrained!: () => void;
  private rejectDrained!: (e: Error) => void;

  constructor(
    readonly name: string,
    readonly options: Required<Pick<RelayChannelOptions, 'boundBytes'>> & RelayChannelOptions,
    private readonly onDone: () => void,
  ) {
    this.drained = new Promise<void>((res, rej) => {
      this.resolveDrained = res;
      this.rejectDrained = rej;
    });
    // A channel nobody awaits must not crash the process with an unhandled rejection.
    this.drained.catch(() => undefined);
  }

  get aborted(): string | undefined {
    return this.abortReason;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  async write(frame: Buffer): Promise<void> {
    for (;;) {
      if (this.abortReason !== undefined) throw new RelayAborted(this.name, this.abortReason);
      if (this.ended) throw new FerryError('relay_ended', `relay channel ${this.name} was already ended`, { status: 409 });
      if (this.stats.bufferedBytes === 0 || this.stats.bufferedBytes + frame.length <= this.options.boundBytes) break;
      await new Promise<void>((res) => this.wakeWriters.push(res));
    }
    this.queue.push(frame);
    this.stats.bufferedBytes += frame.length;
    this.stats.maxBufferedBytes = Math.max(this.stats.maxBufferedBytes, this.stats.bufferedBytes);
    this.stats.framesIn++;
    this.stats.bytesIn += frame.length;
    this.wake();
  }

  end(): void {
    if (this.ended || this.abortReason !== undefined) return;
    this.ended = true;
    this.wake();
    this.maybeDrained();
  }

  abort(reason: string): void {
    if (this.abortReason !== undefined || (this.ended && this.queue.length === 0 && this.iterated)) return;
    this.abortReason = reason;
    this.queue.length = 0;
    this.stats.bufferedBytes = 0;
    this.wake();
    this.rejectDrained(new RelayAborted(this.name, reason));
    this.onDone();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.iterated) throw new FerryError('relay_busy', `relay channel ${this.name} already has a reader`, { status: 409 });
    this.iterated = true;
    for (;;) {
      if (this.abortReason !== undefined) throw new RelayAborted(this.name, this.abortReason);
      const frame = this.queue.shift();
      if (frame) {
        this.stats.bufferedBytes -= frame.length;
        this.stats.framesOut++;
        this.stats.bytesOut += frame.length;
        this.wake();
        yield frame;
        continue;
      }
      if (this.ended) {
        this.maybeDrained();
        return;
      }
      await new Promise<void>((res) => (this.wakeReader = res));
    }
  }

  private maybeDrained(): void {
    if (this.ended && this.queue.length === 0 && this.iterated && this.abortReason === undefined) {
      this.resolveDrained();
      this.onDone();
    }
  }

  private wake(): void {
    const r = this.wakeReader;
    this.wakeReader = undefined;
    r?.();
    const ws = this.wakeWriters;
    this.wakeWriters = [];
    for (const w of ws) w();
  }
}

/**
 * Named relay channels between Push and Pull streams and hub-local producers/consumers.
 * The hub opens a channel (naming which agent may push and which may pull), hands its name to
 * the tasks, and the agents' Push/Pull calls attach to it. An agent cannot open a channel.
 */
export class Relay {
  private readonly channels = new Map<string, RelayChannel>();
  readonly transport: TransportStats = newTransportStats();

  constructor(private readonly defaults: { boundBytes?: number } = {}) {}

  /** Open a channel; throws `relay_channel_exists` if one with that name is open. */
  openChannel(name: string, opts: RelayChannelOptions = {}): RelayChannel {
    if (this.channels.has(name)) throw conflict('relay_channel_exists', `relay channel ${name} is already open`);
    const ch = new RelayChannel(name, { ...opts, boundBytes: opts.boundBytes ?? this.defaults.boundBytes ?? DEFAULT_RELAY_BOUND_BYTES }, () => {
      if (this.channels.get(name) === ch) this.channels.delete(name);
    });
    this.channels.set(name, ch);
    return ch;
  }

  get(name: string): RelayChannel | undefined {
    return this.channels.get(name);
  }

  /** The channel `agentId` may push into (producer) or pull from (consumer); 404/403 otherwise. */
  attach(name: string, agentId: string, role: 'producer' | 'consumer'): RelayChannel {
    const ch = name ? this.channels.get(name) : undefined;
    if (!ch) throw new FerryError('relay_channel_not_found', `relay channel ${JSON.stringify(name)} is not open on the hub`, { status: 404 });
    const allowed = ch.options[role];
    if (allowed && allowed !== agentId) throw new FerryError('relay_forbidden', `agent ${agentId} is not the ${role} of relay channel ${name}`, { status: 403 });
    return ch;
  }

  /** Abort every open channel (hub shutdown). */
  abortAll(reason: string): void {
    for (const ch of [...this.channels.values()]) ch.abort(reason);
  }

  get size(): number {
    return this.channels.size;
  }
}
