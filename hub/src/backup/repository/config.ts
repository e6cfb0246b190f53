import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { checkFixedSize, compileCdcOptions, DEFAULT_CDC, DEFAULT_FIXED_CHUNK_SIZE } from '../../../../common/src/chunking/index.ts';
import { DEFAULT_COMPRESSION } from './codec.ts';
import { RepositoryError } from './errors.ts';

/** Format 2: chunks in pack files (docs/repository-format.md). Format 1 (a file per chunk) is not read. */
export const REPOSITORY_FORMAT = 2;

export const repositoryConfigSchema = z.object({
  format: z.number().int(),
  id: z.string().min(1),
  createdAt: z.string(),
  chunking: z.object({
    disk: z.object({ kind: z.literal('fixed'), size: z.number().int() }),
    stream: z.object({ kind: z.literal('fastcdc'), min: z.number().int(), avg: z.number().int(), max: z.number().int() }),
  }),
  compression: z.object({ codec: z.enum(['zstd', 'none']), level: z.number().int().min(-7).max(22) }),
});

/** The contents of `config.json`. */
export type RepositoryConfig = z.infer<typeof repositoryConfigSchema>;

/** What `Repository.init` accepts; everything defaults to the measured choices. */
export interface RepositoryParams {
  /** Fixed chunk size for disk images. @default 65536 */
  diskChunkSize?: number;
  /** Content-defined chunking for streams. @default { min: 16384, avg: 65536, max: 262144 } */
  streamChunking?: { min: number; avg: number; max: number };
  /** @default { codec: 'zstd', level: 1 } */
  compression?: { codec: 'zstd' | 'none'; level: number };
}

export function buildConfig(params: RepositoryParams, now: number): RepositoryConfig {
  const size = checkFixedSize(params.diskChunkSize ?? DEFAULT_FIXED_CHUNK_SIZE);
  const cdc = compileCdcOptions(params.streamChunking ?? DEFAULT_CDC);
  const compression = params.compression ?? DEFAULT_COMPRESSION;
  return repositoryConfigSchema.parse({
    format: REPOSITORY_FORMAT,
    id: randomUUID(),
    createdAt: new Date(now).toISOString(),
    chunking: { disk: { kind: 'fixed', size }, stream: { kind: 'fastcdc', min: cdc.min, avg: cdc.avg, max: cdc.max } },
    compression: { codec: compression.codec, level: compression.level },
  });
}

export function parseConfig(raw: Buffer, root: string): RepositoryConfig {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new RepositoryError('repository_format_unsupported', `config.json in ${root} is not JSON`, { cause });
  }
  const parsed = repositoryConfigSchema.safeParse(value);
  if (!parsed.success || parsed.data.format !== REPOSITORY_FORMAT) {
    const format = typeof value === 'object' && value !== null ? (value as { format?: unknown }).format : undefined;
    throw new RepositoryError(
      'repository_format_unsupported',
      `config.json in ${root} has format ${String(format)}; this version reads format ${REPOSITORY_FORMAT}`,
    );
  }
  return parsed.data;
}
