/**
 * What a task handler on the agent sees. One file per task kind under tasks/, registered by kind
 * in tasks/registry.ts. Handlers report through ctx, honour ctx.signal (cancel/pause), and
 * return a JSON-serialisable result or throw a FerryError (its code travels to the hub).
 */
export interface TaskContext {
  taskId: string;
  jobId: string;
  signal: AbortSignal;
  progress(p: { percent?: number; phase?: string; counters?: Record<string, number>; message?: string }): void;
  log(level: 'debug' | 'info' | 'warning' | 'error', message: string, fields?: Record<string, unknown>): void;
  /** Bulk data to the hub on a named channel (backpressure: await each write). */
  openPush(channel: string): Promise<DataSink>;
  /** Bulk data from the hub on a named channel. */
  openPull(channel: string): AsyncIterable<Buffer>;
  /** Generic unary call to the hub for small requests (e.g. which chunk digests exist). */
  call(method: string, payload: unknown): Promise<unknown>;
}

export interface DataSink {
  write(frame: Buffer): Promise<void>;
  /** Finish the channel; resolves when the hub acknowledged every frame. */
  end(): Promise<{ frames: number; bytes: number }>;
  /** Abandon the channel with an error the reader sees. */
  abort(reason: string): void;
}

export type TaskHandler = (payload: unknown, ctx: TaskContext) => Promise<unknown>;
