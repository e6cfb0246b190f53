import zstd from 'zstd-napi/binding.js';
import { FerryError } from '../../../common/src/errors.ts';

/**
 * A chunk in the repository's stored form (docs/repository-format.md, "Chunks"): one codec byte,
 * then the payload. The agent builds it when it uploads (record type 3, backup-wire.ts) and
 * decodes it when it restores; the hub checks it on ingest and otherwise moves it as is. Shared
 * by the agent and the hub (which imports this file), like backup-wire.ts.
 *
 * Everything here works in caller-provided buffers: a 64 KiB chunk costs no allocation to
 * compress (it goes straight into the record frame) or to decode (into a reused buffer).
 */
export const STORED_CODEC = { raw: 0, zstd: 1 } as const;

/** A repository's compression, as the hub passes it in `backup.disk` / `backup.database`. */
export interface ChunkCompression {
  codec: 'zstd' | 'none';
  /** zstd level (the repository's config.json). */
  level: number;
}

/** The `compression` of a task payload, checked once before any chunk is read. */
export function checkCompression(c: unknown): ChunkCompression | undefined {
  if (c === undefined || c === null) return undefined;
  const { codec, level } = c as Partial<ChunkCompression>;
  if ((codec !== 'zstd' && codec !== 'none') || !Number.isInteger(level) || level! < -7 || level! > 22) {
    throw new FerryError('bad_request', `compression ${JSON.stringify(c).slice(0, 100)} is not { codec: 'zstd' | 'none', level: an integer from -7 to 22 }`, { status: 400 });
  }
  return { codec, level: level! };
}

/** Chunks shorter than this are stored raw (a zstd frame header would eat the saving). */
const MIN_COMPRESS_BYTES = 64;

// One native context per level, reused: creating a zstd context per chunk costs more than
// compressing a 64 KiB chunk.
const contexts = new Map<number, zstd.CCtx>();
let dctx: zstd.DCtx | null = null;

function contextFor(level: number): zstd.CCtx {
  let c = contexts.get(level);
  if (!c) {
    c = new zstd.CCtx();
    contexts.set(level, c);
  }
  return c;
}

/** Bytes `encodeStoredInto` may need at the target for a chunk of `length` bytes (more than it keeps). */
export function storedBound(length: number): number {
  return 1 + (length >= MIN_COMPRESS_BYTES ? zstd.compressBound(length) : length);
}

/**
 * Writes the stored form of `data` at `target[at]` and returns its length: zstd at `level`
 * when that saves at least 1/32 of the size, else raw (the rule of the repository's codec.ts,
 * so random data costs no decompression on restore). `target` needs `storedBound(data.length)`
 * bytes from `at`; with `level` null the chunk is stored raw.
 */
export function encodeStoredInto(target: Buffer, at: number, data: Buffer, level: number | null): number {
  if (level !== null && data.length >= MIN_COMPRESS_BYTES) {
    const n = contextFor(level).compress(target.subarray(at + 1, at + storedBound(data.length)), data, level);
    if (n <= data.length - (data.length >> 5)) {
      target[at] = STORED_CODEC.zstd;
      return 1 + n;
    }
  }
  target[at] = STORED_CODEC.raw;
  data.copy(target, at + 1);
  return 1 + data.length;
}

/** A stored form that is not a valid encoding of `length` bytes. */
export class StoredChunkInvalid extends Error {}

/**
 * The chunk's bytes from its stored form, checked to be exactly `length` bytes (the caller
 * still checks the digest). Raw: a view of `stored`. zstd: decoded into `into` (at least
 * `length` bytes, e.g. a reused scratch buffer) or a new buffer. The output is bounded by
 * `length` whatever the frame claims, so a zstd bomb fails as "does not fit" without
 * allocating more. Throws StoredChunkInvalid.
 */
export function decodeStored(stored: Buffer, length: number, into?: Buffer): Buffer {
  if (stored.length < 1) throw new StoredChunkInvalid('the stored form is empty');
  const codec = stored[0];
  const payload = stored.subarray(1);
  if (codec === STORED_CODEC.raw) {
    if (payload.length !== length) throw new StoredChunkInvalid(`a raw chunk of ${payload.length} bytes was declared as ${length} bytes`);
    return payload;
  }
  if (codec !== STORED_CODEC.zstd) throw new StoredChunkInvalid(`unknown codec byte ${codec}`);
  if (into && into.length < length) throw new RangeError(`decode buffer of ${into.length} bytes for a ${length}-byte chunk`);
  const out = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  let n: number;
  try {
    const declared = zstd.getFrameContentSize(payload);
    if (declared !== null && declared !== length) throw new StoredChunkInvalid(`the zstd frame declares ${declared} bytes, the record ${length}`);
    dctx ??= new zstd.DCtx();
    n = dctx.decompress(out, payload);
  } catch (e) {
    if (e instanceof StoredChunkInvalid) throw e;
    throw new StoredChunkInvalid(`the zstd payload does not decode to ${length} bytes (${(e as Error).message})`);
  }
  if (n !== length) throw new StoredChunkInvalid(`the zstd payload decodes to ${n} bytes, not ${length}`);
  return out;
}
