import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { FerryError } from '../../../common/src/errors.ts';
import { pgEnv } from './backup-database.ts';
import { decodeRecords, RECORD, type RestoreDatabasePayload } from './backup-wire.ts';
import { decodeStored, StoredChunkInvalid } from './stored-chunk.ts';
import type { TaskHandler } from './types.ts';

/**
 * `restore.database`: creates the target database when it does not exist, then feeds the
 * verified dump to `pg_restore` (custom format) or `psql` (plain). A target that already holds
 * tables is refused: a restore goes into a new database.
 */
export const restoreDatabase: TaskHandler = async (payload, ctx) => {
  const p = payload as RestoreDatabasePayload;
  const db = p.connection.database;
  if (!db) throw new FerryError('validation_error', 'the target connection names no database', { status: 422 });
  const admin = pgEnv(p.connection, 'postgres');
  const exists = spawnSync('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', `SELECT 1 FROM pg_database WHERE datname = '${db.replace(/'/g, "''")}'`], { env: admin, encoding: 'utf8' });
  if (exists.status !== 0) throw new FerryError('connection_failed', `cannot reach the target server: ${(exists.stderr || '').trim().slice(0, 300)}`, { status: 422, retryable: true });
  if (exists.stdout.trim() === '1') {
    const tables = spawnSync('psql', ['-XAtq', '-c', `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog','information_schema')`], { env: pgEnv(p.connection), encoding: 'utf8' });
    if (Number(tables.stdout.trim()) > 0) throw new FerryError('restore_target_not_empty', `database ${db} already holds tables; restore into a new database`, { status: 409 });
  } else {
    const created = spawnSync('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE "${db.replace(/"/g, '""')}"`], { env: admin, encoding: 'utf8' });
    if (created.status !== 0) throw new FerryError('restore_failed', `cannot create database ${db}: ${(created.stderr || '').trim().slice(0, 300)}`, { status: 422 });
  }
  const [cmd, args] = p.format === 'plain' ? ['psql', ['-Xq', '-v', 'ON_ERROR_STOP=1', '-f', '-']] : ['pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', '-d', db]];
  const child = spawn(cmd, args, { env: pgEnv(p.connection), stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(new FerryError('tool_missing', `${cmd} could not be started: ${e.message}`, { status: 500 })));
    child.on('close', (code) => resolve(code ?? -1));
  });
  exited.catch(() => undefined);
  child.stdin.on('error', () => undefined); // an early exit is reported through its exit code
  let offset = 0;
  try {
    for await (const frame of ctx.openPull(p.channel)) {
      for (const rec of decodeRecords(frame)) {
        let data: Buffer;
        if (rec.type === RECORD.data && rec.data) data = rec.data;
        else if (rec.type === RECORD.stored && rec.stored) {
          try {
            // A new buffer per compressed chunk: stdin keeps what it was given until it drains.
            data = decodeStored(rec.stored, rec.length);
          } catch (e) {
            if (e instanceof StoredChunkInvalid) throw new FerryError('chunk_digest_mismatch', `restore refused: the chunk at offset ${offset} does not decode (${e.message})`, { status: 422 });
            throw e;
          }
        } else throw new FerryError('backup_stream_invalid', 'a database restore stream carried a record without data', { status: 400 });
        const actual = createHash('sha256').update(data).digest('hex');
        if (actual !== rec.digest) throw new FerryError('chunk_digest_mismatch', `restore refused: the chunk at offset ${offset} hashes to ${actual}, not ${rec.digest}`, { status: 422 });
        if (!child.stdin.write(data)) await new Promise<void>((res) => child.stdin.once('drain', res));
        offset += rec.length;
      }
      ctx.progress({ percent: p.size ? Math.floor((offset / p.size) * 100) : 100, phase: 'restoring', counters: { bytes_restored: offset } });
    }
    child.stdin.end();
  } catch (e) {
    child.kill('SIGTERM');
    throw e;
  }
  const code = await exited;
  if (code !== 0) throw new FerryError('restore_failed', `${cmd} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`, { status: 422 });
  ctx.log('info', `Restored ${offset} bytes of dump into database ${db}`);
  return { database: db, bytes_restored: offset };
};
