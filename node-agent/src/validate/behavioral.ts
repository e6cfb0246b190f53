/**
 * Behavioral check, one side: run a workload of read queries inside one snapshot (PostgreSQL
 * REPEATABLE READ READ ONLY, MySQL consistent snapshot, SQLite one read transaction) and digest
 * each result as canonical rows: a multiset digest, or an ordered one when the query sorts.
 * Value rendering follows the driver's column types so 5, 5.0 and '5.00' (numeric) compare equal.
 */
import type mysql from 'mysql2';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { FerryError } from '../../../common/src/errors.ts';
import type { WireConnection } from '../../../common/src/migrate-tasks.ts';
import { resolveConnectionSpec } from '../connectors/connection-spec.ts';
import { connectPostgres } from '../datapath/pg-connect.ts';
import { connectMysql } from '../datapath/readers/mysql.ts';
import { openSqlite } from '../datapath/readers/sqlite.ts';
import type { BehavioralPayload, BehavioralResult, ColumnNorm, NormKind, QueryDigest } from './contract.ts';
import { renderRow, SumDigest } from './hashing.ts';
import { canonical, type Raw } from './normalize.ts';

const PG_OIDS: Record<number, NormKind> = {
  16: 'bool', 17: 'bytes', 20: 'decimal', 21: 'decimal', 23: 'decimal', 26: 'decimal', 700: 'decimal', 701: 'decimal', 1700: 'decimal',
  1082: 'date', 1083: 'time', 1114: 'timestamp', 1184: 'timestamptz', 114: 'json', 3802: 'json', 2950: 'uuid',
};
// mysql2 column types: decimals, integers, floats, dates, JSON.
const MY_TYPES: Record<number, NormKind> = {
  0: 'decimal', 1: 'decimal', 2: 'decimal', 3: 'decimal', 4: 'decimal', 5: 'decimal', 8: 'decimal', 9: 'decimal', 13: 'decimal', 246: 'decimal',
  7: 'timestamp', 10: 'date', 11: 'time', 12: 'timestamp', 245: 'json',
};

/** Value class from the JS value when the driver gives no type (SQLite, unknown OIDs). */
function normOfValue(v: Raw, typed: NormKind | undefined): ColumnNorm {
  if (typed) return { kind: typed };
  if (typeof v === 'number' || typeof v === 'bigint') return { kind: 'decimal' };
  if (typeof v === 'boolean') return { kind: 'bool' };
  if (Buffer.isBuffer(v)) return { kind: 'bytes' };
  return { kind: 'text' };
}

interface Side {
  snapshot: string;
  run(sql: string): Promise<{ columns: string[]; types: (NormKind | undefined)[]; rows: Raw[][] }>;
  close(): Promise<void>;
}

async function openSide(connection: WireConnection): Promise<Side> {
  const o = resolveConnectionSpec(connection);
  switch (o.dialect) {
    case 'postgresql': {
      const c: pg.Client = await connectPostgres(o);
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // A repeatable-read snapshot is taken by the first statement, not by BEGIN: take it now, so
      // every query sees the moment the side opened, and name it in the report.
      const snap = await c.query<{ s: string }>('/* ferry */ SELECT pg_current_snapshot()::text AS s').catch(async () => {
        await c.query('ROLLBACK');
        await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        return c.query<{ s: string }>('/* ferry */ SELECT txid_current_snapshot()::text AS s');
      });
      return {
        snapshot: `postgresql repeatable read, read only, snapshot ${snap.rows[0]?.s ?? '?'}`,
        async run(sql) {
          await c.query('SAVEPOINT q');
          try {
            const r = await c.query({ text: sql, rowMode: 'array' });
            await c.query('RELEASE SAVEPOINT q');
            return { columns: r.fields.map((f) => f.name), types: r.fields.map((f) => PG_OIDS[f.dataTypeID]), rows: r.rows as Raw[][] };
          } catch (e) {
            await c.query('ROLLBACK TO SAVEPOINT q');
            throw e;
          }
        },
        async close() {
          await c.query('ROLLBACK').catch(() => undefined);
          await c.end().catch(() => undefined);
        },
      };
    }
    case 'mysql': {
      const c: mysql.Connection = await connectMysql(o);
      await c.promise().query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await c.promise().query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      return {
        snapshot: 'mysql consistent snapshot, repeatable read, read only',
        async run(sql) {
          const [rows, fields] = await c.promise().query({ sql, rowsAsArray: true });
          const fs = (fields ?? []) as mysql.FieldPacket[];
          return {
            columns: fs.map((f) => f.name),
            types: fs.map((f) => (f.type !== undefined && MY_TYPES[f.type]) || ((f.characterSet === 63 && f.type !== undefined && f.type >= 249 && f.type <= 254) ? 'bytes' : undefined)),
            rows: rows as Raw[][],
          };
        },
        async close() {
          await c.promise().query('ROLLBACK').catch(() => undefined);
          c.destroy();
        },
      };
    }
    case 'sqlite': {
      const db = openSqlite(o);
      db.exec('BEGIN');
      // A deferred transaction starts reading (and fixes what it sees) at its first read: read now.
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      return {
        snapshot: 'sqlite read transaction',
        async run(sql) {
          const st = db.prepare(sql);
          if (!st.reader) throw new FerryError('not_a_query', 'Only read queries can be compared');
          st.raw(true).safeIntegers(true);
          return { columns: st.columns().map((c) => c.name), types: [], rows: st.all() as Raw[][] };
        },
        async close() {
          try {
            db.exec('ROLLBACK');
          } finally {
            db.close();
          }
        },
      };
    }
    case 'oracle':
      throw new FerryError('not_supported', 'Behavioral validation against Oracle comes later', { status: 422 });
  }
}

export async function behavioral(p: BehavioralPayload, signal?: AbortSignal): Promise<BehavioralResult> {
  const keep = p.keep_rows ?? 2000;
  const side = await openSide(p.connection);
  const out: QueryDigest[] = [];
  try {
    for (const q of p.queries) {
      signal?.throwIfAborted();
      const t0 = performance.now();
      try {
        const r = await side.run(q.sql);
        const ms = Math.round((performance.now() - t0) * 100) / 100;
        const sum = new SumDigest();
        const chain = createHash('sha256');
        const sample: Record<string, (string | null)[]> = {};
        const counts: Record<string, number> = {};
        for (const raw of r.rows) {
          const row = raw.map((v, i) => canonical(v, normOfValue(v, r.types[i])));
          const h = createHash('sha256').update(renderRow(row)).digest();
          sum.add(h);
          chain.update(h);
          const k = h.subarray(0, 8).toString('hex');
          if (Object.keys(sample).length < keep || k in sample) {
            sample[k] ??= row;
            counts[k] = (counts[k] ?? 0) + 1;
          }
        }
        out.push({ name: q.name, ok: true, rows: r.rows.length, columns: r.columns, digest: q.ordered ? chain.digest('hex') : sum.value(), sample, counts, ms, snapshot: side.snapshot });
      } catch (e) {
        if (e instanceof FerryError && e.code !== 'not_a_query') throw e;
        const err = e as { code?: string | number; message?: string };
        out.push({
          name: q.name, ok: false, error_code: err.code === undefined ? 'query_failed' : String(err.code), error: String(err.message ?? e).slice(0, 500),
          rows: 0, columns: [], digest: '', sample: {}, counts: {}, ms: Math.round((performance.now() - t0) * 100) / 100, snapshot: side.snapshot,
        });
      }
    }
  } finally {
    await side.close();
  }
  return { queries: out };
}
