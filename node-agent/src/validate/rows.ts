/**
 * Stream a table's rows from one side as canonical values (see normalize.ts), in batches.
 * PostgreSQL is read with COPY ... TO STDOUT (text) and parsed here, MySQL with a streaming
 * SELECT over the text protocol, SQLite by iterating a statement. The rendering happens in the
 * agent, never in SQL, so it is the same code for every dialect.
 */
import type mysql from 'mysql2';
import { setImmediate as nextTurn } from 'node:timers/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { FerryError } from '../../../common/src/errors.ts';
import type { WireConnection } from '../../../common/src/migrate-tasks.ts';
import { resolveConnectionSpec, type DriverOptions } from '../connectors/connection-spec.ts';
import { connectPostgres } from '../datapath/pg-connect.ts';
import { connectMysql } from '../datapath/readers/mysql.ts';
import { openSqlite } from '../datapath/readers/sqlite.ts';
import { quoteBacktick, quoteDouble, type Quote } from '../datapath/sql.ts';
import type { SideTable } from './contract.ts';
import { canonical, type Raw } from './normalize.ts';

export type CanonicalRow = (string | null)[];

/** Integer key range lo <= key < hi (null bound = open); pushed down as WHERE. */
export interface RowRange {
  lo: string | null;
  hi: string | null;
}

const INTEGER = /^-?\d{1,40}$/;

function qualified(t: SideTable, q: Quote, dialect: string): string {
  if (dialect === 'sqlite' && (t.schema === 'main' || !t.schema)) return q(t.table);
  return t.schema ? `${q(t.schema)}.${q(t.table)}` : q(t.table);
}

/** The SELECT of the table's columns (and range), quoted for the dialect. */
export function selectSql(t: SideTable, dialect: string, range?: RowRange | null): string {
  const q = dialect === 'mysql' ? quoteBacktick : quoteDouble;
  const cols = t.columns.map((c) => q(c.name)).join(', ');
  let where = '';
  if (range && (range.lo !== null || range.hi !== null)) {
    const k = t.columns[t.key[0] ?? -1];
    if (!k || !t.key_integer) throw new FerryError('invalid_validation', `table ${t.table} has no integer key to range over`);
    const parts: string[] = [];
    for (const [op, b] of [['>=', range.lo], ['<', range.hi]] as const) {
      if (b === null) continue;
      if (!INTEGER.test(b)) throw new FerryError('invalid_validation', `range bound ${b.slice(0, 40)} is not an integer`);
      parts.push(`${q(k.name)} ${op} ${b}`);
    }
    where = ' WHERE ' + parts.join(' AND ');
  }
  return `SELECT ${cols} FROM ${qualified(t, q, dialect)}${where}`;
}

const ESC: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/** One COPY text field: \N is NULL; backslash escapes decoded. */
export function decodeCopyField(f: string): string | null {
  if (f === '\\N') return null;
  if (!f.includes('\\')) return f;
  let out = '';
  for (let i = 0; i < f.length; i++) {
    const c = f[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = f[++i] ?? '';
    if (n in ESC) out += ESC[n];
    else if (n >= '0' && n <= '7') {
      let oct = n;
      while (oct.length < 3 && f[i + 1] !== undefined && f[i + 1]! >= '0' && f[i + 1]! <= '7') oct += f[++i];
      out += String.fromCharCode(parseInt(oct, 8));
    } else if (n === 'x' && /[0-9a-fA-F]/.test(f[i + 1] ?? '')) {
      let hex = f[++i]!;
      if (/[0-9a-fA-F]/.test(f[i + 1] ?? '')) hex += f[++i];
      out += String.fromCharCode(parseInt(hex, 16));
    } else out += n;
  }
  return out;
}

async function* pgRows(opts: Extract<DriverOptions, { dialect: 'postgresql' }>, t: SideTable, range: RowRange | null, signal?: AbortSignal): AsyncGenerator<CanonicalRow[]> {
  const client: pg.Client = await connectPostgres(opts);
  try {
    const stream = client.query(copyStreams.to(`COPY (${selectSql(t, 'postgresql', range)}) TO STDOUT`));
    const norms = t.columns.map((c) => c.norm);
    let rest: Buffer = Buffer.alloc(0);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      const end = buf.lastIndexOf(10);
      if (end < 0) {
        rest = buf;
        continue;
      }
      rest = Buffer.from(buf.subarray(end + 1));
      const lines = buf.toString('utf8', 0, end).split('\n');
      const batch: CanonicalRow[] = new Array(lines.length);
      for (let r = 0; r < lines.length; r++) {
        const fields = lines[r]!.split('\t');
        const row: CanonicalRow = new Array(fields.length);
        for (let i = 0; i < fields.length; i++) row[i] = canonical(decodeCopyField(fields[i]!), norms[i]!);
        batch[r] = row;
      }
      yield batch;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function* mysqlRows(opts: Extract<DriverOptions, { dialect: 'mysql' }>, t: SideTable, range: RowRange | null, signal?: AbortSignal): AsyncGenerator<CanonicalRow[]> {
  const conn: mysql.Connection = await connectMysql(opts);
  const norms = t.columns.map((c) => c.norm);
  try {
    const q = conn.query({ sql: selectSql(t, 'mysql', range), rowsAsArray: true });
    const stream = q.stream({ highWaterMark: 1000 });
    let batch: CanonicalRow[] = [];
    for await (const raw of stream as AsyncIterable<Raw[]>) {
      batch.push(raw.map((v, i) => canonical(v, norms[i]!)));
      if (batch.length >= 2000) {
        signal?.throwIfAborted();
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  } finally {
    conn.destroy();
  }
}

async function* sqliteRows(opts: Extract<DriverOptions, { dialect: 'sqlite' }>, t: SideTable, range: RowRange | null, signal?: AbortSignal): AsyncGenerator<CanonicalRow[]> {
  const db = openSqlite(opts);
  const norms = t.columns.map((c) => c.norm);
  try {
    const stmt = db.prepare(selectSql(t, 'sqlite', range)).raw(true).safeIntegers(true);
    let batch: CanonicalRow[] = [];
    for (const raw of stmt.iterate() as IterableIterator<Raw[]>) {
      batch.push(raw.map((v, i) => canonical(v, norms[i]!)));
      if (batch.length >= 2000) {
        yield batch;
        batch = [];
        // better-sqlite3 is synchronous: let heartbeats and cancellation through between batches.
        await nextTurn();
        signal?.throwIfAborted();
      }
    }
    if (batch.length) yield batch;
  } finally {
    db.close();
  }
}

/** Batches of canonical rows of `t` (optionally one integer key range) from one side. */
export function streamRows(connection: WireConnection, t: SideTable, range: RowRange | null = null, signal?: AbortSignal): AsyncGenerator<CanonicalRow[]> {
  const o = resolveConnectionSpec(connection);
  switch (o.dialect) {
    case 'postgresql':
      return pgRows(o, t, range, signal);
    case 'mysql':
      return mysqlRows(o, t, range, signal);
    case 'sqlite':
      return sqliteRows(o, t, range, signal);
    case 'oracle':
      throw new FerryError('not_supported', 'Validation reads Oracle sources in a later version', { status: 422 });
  }
}
