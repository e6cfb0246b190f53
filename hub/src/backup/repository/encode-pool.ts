import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { CODEC } from './codec.ts';

/** What a worker hands back for one chunk: its SHA-256 and, when compression paid, the zstd frame. */
export interface EncodedChunk {
  digest: string;
  /** null: store raw (the caller still holds the data). */
  zstd: Buffer | null;
}

interface Job {
  resolve: (r: EncodedChunk) => void;
  reject: (e: unknown) => void;
}

// Plain JavaScript so the worker starts the same way under tsx, vitest and a built package
// (a .ts worker file would need the loader of whichever runner started the hub).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { Compressor } = require(workerData.zstdPath);
const compressors = new Map();
parentPort.on('message', (batch) => {
  const out = [];
  const transfer = [];
  for (const j of batch) {
    const data = Buffer.from(j.data.buffer, j.data.byteOffset, j.data.byteLength);
    const digest = createHash('sha256').update(data).digest('hex');
    let zstd = null;
    if (j.level !== null && data.length >= 64) {
      let c = compressors.get(j.level);
      if (!c) { c = new Compressor(); c.setParameters({ compressionLevel: j.level }); compressors.set(j.level, c); }
      const packed = c.compress(data);
      if (packed.length <= data.length - (data.length >> 5)) {
        zstd = new Uint8Array(packed.length);
        zstd.set(packed);
        transfer.push(zstd.buffer);
      }
    }
    out.push({ id: j.id, digest, zstd });
  }
  parentPort.postMessage(out, transfer);
});
`;

/**
 * Hashes and compresses chunks on worker threads, so the event loop that receives uploads
 * and writes packs is not the one doing SHA-256 and zstd (docs/repository-format.md,
 * measurements). Jobs queued in the same tick go to a worker as one message.
 */
export class EncodePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Job>();
  private queue: { id: number; data: Uint8Array; level: number | null }[] = [];
  private nextId = 0;
  private nextWorker = 0;
  private scheduled = false;
  private broken: unknown = null;

  constructor(threads: number) {
    const zstdPath = createRequire(import.meta.url).resolve('zstd-napi');
    for (let i = 0; i < threads; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { zstdPath } });
      w.on('message', (batch: { id: number; digest: string; zstd: Uint8Array | null }[]) => {
        for (const r of batch) {
          const job = this.pending.get(r.id);
          if (!job) continue;
          this.pending.delete(r.id);
          job.resolve({ digest: r.digest, zstd: r.zstd ? Buffer.from(r.zstd.buffer, r.zstd.byteOffset, r.zstd.byteLength) : null });
        }
        if (this.pending.size === 0) for (const x of this.workers) x.unref();
      });
      w.on('error', (err) => this.fail(err));
      // Referenced only while jobs are pending, so an idle pool never keeps the process alive
      // (after the listeners: adding a 'message' listener refs the worker's port again).
      w.unref();
      this.workers.push(w);
    }
  }

  /**
   * SHA-256 of `data` and, with `level` not null, its zstd frame when that saves at least 1/32
   * (else null: store raw, as `encodeChunk` does).
   */
  encode(data: Buffer, level: number | null): Promise<EncodedChunk> {
    if (this.broken !== null) return Promise.reject(this.broken);
    const id = this.nextId++;
    // A copy the worker can own: transferring the caller's buffer would detach it, and
    // cloning a view of a larger buffer would copy all of it.
    const copy = new Uint8Array(data.length);
    copy.set(data);
    if (this.pending.size === 0) for (const x of this.workers) x.ref();
    this.queue.push({ id, data: copy, level });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.dispatch());
    }
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  private dispatch(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    // Split the tick's jobs over the workers.
    const per = Math.ceil(batch.length / this.workers.length);
    for (let i = 0; i < batch.length; i += per) {
      const part = batch.slice(i, i + per);
      const w = this.workers[this.nextWorker++ % this.workers.length]!;
      w.postMessage(
        part,
        part.map((j) => j.data.buffer as ArrayBuffer),
      );
    }
  }

  private fail(err: unknown): void {
    this.broken = err;
    for (const job of this.pending.values()) job.reject(err);
    this.pending.clear();
    for (const x of this.workers) x.unref();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export const ZSTD_HEADER = Buffer.from([CODEC.zstd]);
