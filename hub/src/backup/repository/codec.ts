import { createHash } from 'node:crypto';
import { Compressor, Decompressor } from 'zstd-napi';
import { RepositoryError } from './errors.ts';

/** Codec byte at the start of every chunk file (docs/repository-format.md). */
export const CODEC = { raw: 0, zstd: 1, gzip: 2 } as const;

export interface CompressionConfig {
  codec: 'zstd' | 'none';
  /** zstd level. @default 1 (same ratio as 3 on 64 KiB chunks, faster: docs/repository-format.md) */
  level: number;
}

export const DEFAULT_COMPRESSION: CompressionConfig = { codec: 'zstd', level: 1 };

// One native context per level, reused: creating a zstd context per 64 KiB chunk costs more
// than compressing it.
const compressors = new Map<number, Compressor>();
let decompressor: Decompressor | null = null;

function compressorFor(level: number): Compressor {
  let c = compressors.get(level);
  if (!c) {
    c = new Compressor();
    c.setParameters({ compressionLevel: level });
    compressors.set(level, c);
  }
  return c;
}

const HEADERS = [Buffer.from([CODEC.raw]), Buffer.from([CODEC.zstd])] as const;

/**
 * The pieces of a chunk file: header byte, then payload. Kept as two buffers so the backend
 * writes them with one writev and nothing is copied. Stores raw when compression saves less
 * than 1/32, so incompressible data costs no CPU on restore.
 */
export function encodeChunk(data: Buffer, config: CompressionConfig): Buffer[] {
  if (config.codec === 'zstd' && data.length >= 64) {
    const packed = compressorFor(config.level).compress(data);
    if (packed.length <= data.length - (data.length >> 5)) return [HEADERS[1], packed];
  }
  return [HEADERS[0], data];
}

/** Decodes a stored chunk file; any failure is `chunk_corrupt` naming the digest. */
export function decodeChunk(stored: Buffer, digest: string): Buffer {
  if (stored.length < 1) throw new RepositoryError('chunk_corrupt', `chunk ${digest} is empty`, { digest });
  const codec = stored[0];
  const payload = stored.subarray(1);
  if (codec === CODEC.raw) return payload;
  if (codec === CODEC.zstd) {
    try {
      decompressor ??= new Decompressor();
      return decompressor.decompress(payload);
    } catch (cause) {
      throw new RepositoryError('chunk_corrupt', `chunk ${digest} does not decompress`, { digest, cause });
    }
  }
  throw new RepositoryError('chunk_corrupt', `chunk ${digest} has unknown codec byte ${codec}`, { digest });
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const DIGEST_RE = /^[0-9a-f]{64}$/;

export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

export function checkDigest(value: string): string {
  if (!DIGEST_RE.test(value)) {
    throw new RepositoryError('digest_invalid', `"${value.slice(0, 80)}" is not a lowercase hex SHA-256 digest`);
  }
  return value;
}
