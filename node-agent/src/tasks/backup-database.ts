import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cdcChunks } from '../../../common/src/chunking/index.ts';
import { FerryError } from '../../../common/src/errors.ts';
import { ChunkUploader } from './backup-uploader.ts';
import type { BackupDatabasePayload, BackupDatabaseResult, DatabaseConnectionSpec } from './backup-wire.ts';
import { checkCompression } from './stored-chunk.ts';
import type { TaskHandler } from './types.ts';

/** libpq environment for the pg tools: the password travels in the environment, never on a command line. */
export function pgEnv(c: DatabaseConnectionSpec, database?: string): NodeJS.ProcessEnv {
  if (c.type !== 'postgresql') throw new FerryError('not_implemented', `logical backups of ${c.type} databases are not implemented; PostgreSQL only`, { status: 501 });
  const env: NodeJS.ProcessEnv = { ...process.env, PGHOST: c.host ?? '127.0.0.1', PGPORT: String(c.port ?? 5432), PGUSER: c.user ?? 'postgres', PGDATABASE: database ?? c.database ?? 'postgres', PGCONNECT_TIMEOUT: '15' };
  if (c.password) env.PGPASSWORD = c.password;
  else delete env.PGPASSWORD;
  return env;
}

/**
 * `backup.database`: streams `pg_dump` (custom format without compression, or plain SQL)
 * through content-defined chunking, so unchanged parts of the next dump deduplicate. Chunks are
 * compressed here when the hub passes the repository's compression (else the hub compresses).
 */
export const backupDatabase: TaskHandler = async (payload, ctx) => {
  const p = payload as BackupDatabasePayload;
  const env = pgEnv(p.connection);
  const args = p.format === 'plain' ? ['--format=plain', '--no-owner'] : ['--format=custom', '--compress=0'];
  const child = spawn('pg_dump', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(new FerryError('tool_missing', `pg_dump could not be started: ${e.message}`, { status: 500, cause: e })));
    child.on('close', (code) => resolve(code ?? -1));
  });
  exited.catch(() => undefined);
  const onAbort = () => child.kill('SIGTERM');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const sink = await ctx.openPush(p.channel);
  const up = new ChunkUploader(ctx, p.backup_id, (f) => sink.write(f), undefined, checkCompression(p.compression));
  let size = 0;
  let chunks = 0;
  try {
    for await (const c of cdcChunks(child.stdout, p.cdc)) {
      size += c.data.length;
      chunks++;
      await up.candidate(createHash('sha256').update(c.data).digest('hex'), c.data);
      if (chunks % 64 === 0) ctx.progress({ phase: 'dumping', counters: { bytes_read: size, bytes_uploaded: up.packer.dataBytes, chunks_done: chunks } });
    }
    const code = await exited;
    if (code !== 0) throw new FerryError('dump_failed', `pg_dump exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`, { status: 422 });
    await up.finish();
    await sink.end();
  } catch (e) {
    sink.abort(e instanceof Error ? e.message : String(e));
    child.kill('SIGTERM');
    throw e;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
  const r: BackupDatabaseResult = { size, chunks, looked_up_chunks: up.lookedUp, uploaded_chunks: up.uploadedChunks, uploaded_bytes: up.packer.dataBytes, sent_bytes: up.packer.sentBytes };
  ctx.log('info', `Dumped ${size} bytes in ${chunks} chunk(s); uploaded ${r.uploaded_bytes} bytes`);
  return r;
};
