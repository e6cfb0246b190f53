/**
 * Source-against-target comparison done outside Ferry: every row of every table read with the
 * plain drivers, each value rendered as one canonical text chosen by the TARGET column's type,
 * rows sorted (so no engine's collation matters) and hashed. A difference names the table and
 * the first differing row.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import type pg from 'pg';

export type Cat = 'int' | 'numeric' | 'float' | 'bool' | 'bytea' | 'date' | 'timestamp' | 'timestamptz' | 'time' | 'interval' | 'json' | 'bit' | 'char' | 'text';

export function categoryOf(pgType: string): Cat {
  const t = pgType.toLowerCase();
  if (/^(smallint|integer|bigint)$/.test(t)) return 'int';
  if (t.startsWith('numeric')) return 'numeric';
  if (t === 'real' || t === 'double precision') return 'float';
  if (t === 'boolean') return 'bool';
  if (t === 'bytea') return 'bytea';
  if (t === 'date') return 'date';
  if (t.startsWith('timestamp') && t.includes('with time zone')) return 'timestamptz';
  if (t.startsWith('timestamp')) return 'timestamp';
  if (t.startsWith('time')) return 'time';
  if (t === 'json' || t === 'jsonb') return 'json';
  if (t === 'interval') return 'interval';
  if (/^bit( varying)?(\(\d+\))?$/.test(t)) return 'bit';
  if (/^character\(\d+\)$/.test(t)) return 'char';
  return 'text';
}

const NULL = '\\N';

/** '1.5e+3' -> '1500', '1e-10' -> '0.0000000001': exact, from the digits. */
function expandExponent(s: string): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?[eE]([+-]?\d+)$/.exec(s.trim());
  if (!m) return s;
  const [, sign = '', ip = '', fp = '', e = '0'] = m;
  const digits = ip + fp;
  const point = ip.length + Number(e);
  const out = point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return sign + out;
}

function canonDecimal(s: string): string {
  let x = expandExponent(s.trim());
  let neg = false;
  if (x.startsWith('-')) {
    neg = true;
    x = x.slice(1);
  } else if (x.startsWith('+')) x = x.slice(1);
  let [ip = '', fp = ''] = x.split('.');
  ip = ip.replace(/^0+/, '') || '0';
  fp = fp.replace(/0+$/, '');
  const out = fp ? `${ip}.${fp}` : ip;
  return neg && out !== '0' ? `-${out}` : out;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

function timeText(s: string): string {
  // 'YYYY-MM-DDTHH:MM:SS.fff000+00' and 'YYYY-MM-DD HH:MM:SS.fff' agree once the T, trailing
  // zero fraction digits and a UTC suffix are gone.
  return s
    .replace('T', ' ')
    .replace(/(Z|[+-]00(:?00)?)$/, '')
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
}

/** One canonical text per value for a target column category. */
export function canon(v: unknown, cat: Cat): string {
  if (v === null || v === undefined) return NULL;
  switch (cat) {
    case 'int':
      return BigInt(typeof v === 'number' ? Math.trunc(v) : String(v)).toString();
    case 'numeric':
      return canonDecimal(typeof v === 'number' ? String(v) : String(v));
    case 'float':
      return String(Number(v));
    case 'bool':
      if (Buffer.isBuffer(v)) return v.some((b) => b !== 0) ? 't' : 'f';
      return ['t', 'true', '1', 'TRUE'].includes(String(v)) ? 't' : ['f', 'false', '0', 'FALSE'].includes(String(v)) ? 'f' : `?${String(v)}`;
    case 'bytea':
      if (Buffer.isBuffer(v)) return v.toString('hex');
      return String(v).replace(/^\\x/, '');
    case 'date': {
      const s = String(v);
      return s.startsWith('0000-00-00') ? NULL : s.slice(0, 10);
    }
    case 'timestamp':
    case 'timestamptz': {
      // SQLite integers in a DATETIME column are unix epoch seconds (timestamp_from_unixepoch).
      if (typeof v === 'bigint' || typeof v === 'number') return timeText(new Date(Number(v) * 1000).toISOString());
      const s = String(v);
      return s.startsWith('0000-00-00') ? NULL : timeText(s);
    }
    case 'time':
    case 'interval':
      return timeText(String(v));
    case 'bit':
      if (Buffer.isBuffer(v)) return [...v].map((b) => b.toString(2).padStart(8, '0')).join('');
      return String(v);
    case 'char':
      return String(v).replace(/ +$/, '');
    case 'json':
      return JSON.stringify(sortKeys(typeof v === 'string' ? JSON.parse(v) : v));
    default:
      if (Buffer.isBuffer(v)) {
        // As text_from_any renders bytes: UTF-8 text, else (invalid, or a NUL) \x hex.
        const s = v.toString('utf8');
        return Buffer.from(s, 'utf8').equals(v) && !s.includes('\0') ? s : `\\x${v.toString('hex')}`;
      }
      return String(v);
  }
}

export interface Column {
  name: string;
  type: string;
  cat: Cat;
}

export interface TableData {
  rows: number;
  md5: string;
  lines: string[];
}

export function summarise(rows: unknown[][], cols: Column[]): TableData {
  const lines = rows.map((r) => r.map((v, i) => canon(v, cols[i]!.cat)).join('\t'));
  lines.sort();
  const h = createHash('md5');
  for (const l of lines) h.update(l + '\n');
  return { rows: lines.length, md5: h.digest('hex'), lines };
}

const qpg = (s: string) => `"${s.replace(/"/g, '""')}"`;
const qmy = (s: string) => `\`${s.replace(/`/g, '``')}\``;

/** Target tables and their columns (types as format_type prints them). */
export async function pgColumns(c: pg.Client, schema: string): Promise<Map<string, Column[]>> {
  const r = await c.query<{ t: string; n: string; ty: string }>(
    `SELECT c.relname t, a.attname n, format_type(a.atttypid, a.atttypmod) ty
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE s.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum`,
    [schema],
  );
  const out = new Map<string, Column[]>();
  for (const x of r.rows) {
    const list = out.get(x.t) ?? [];
    list.push({ name: x.n, type: x.ty, cat: categoryOf(x.ty) });
    out.set(x.t, list);
  }
  return out;
}

/** A client whose values all come back as text (as psql would show them), in UTC. */
export async function pgTextRows(c: pg.Client, schema: string, table: string, cols: Column[]): Promise<unknown[][]> {
  await c.query(`SET TimeZone = 'UTC'`);
  const r = await c.query({ text: `SELECT ${cols.map((x) => qpg(x.name)).join(', ')} FROM ${qpg(schema)}.${qpg(table)}`, rowMode: 'array' });
  return r.rows as unknown[][];
}

export interface SourceReader {
  rows(table: string, cols: Column[]): Promise<unknown[][]>;
  close(): Promise<void>;
}

export function pgSource(c: pg.Client, schema: string): SourceReader {
  return { rows: (t, cols) => pgTextRows(c, schema, t, cols), close: async () => undefined };
}

export async function mysqlSource(database: string): Promise<SourceReader> {
  const conn = await mysql.createConnection({
    host: '127.0.0.1', port: 3306, user: 'root', database, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, decimalNumbers: false, charset: 'utf8mb4',
    // JSON as the text the server holds (mysql2 would parse it, losing '"x"' vs 'x').
    jsonStrings: true,
  });
  await conn.query(`SET time_zone = '+00:00'`);
  return {
    async rows(table, cols) {
      const [rows] = await conn.query({ sql: `SELECT ${cols.map((x) => qmy(x.name)).join(', ')} FROM ${qmy(table)}`, rowsAsArray: true });
      return rows as unknown[][];
    },
    close: () => conn.end(),
  };
}

export function sqliteSource(file: string): SourceReader {
  const db = new Database(file, { readonly: true });
  return {
    async rows(table, cols) {
      return db.prepare(`SELECT ${cols.map((x) => qpg(x.name)).join(', ')} FROM ${qpg(table)}`).raw().safeIntegers(true).all() as unknown[][];
    },
    async close() {
      db.close();
    },
  };
}

export interface Difference {
  table: string;
  source_rows: number;
  target_rows: number;
  first_difference?: { source?: string; target?: string };
}

/**
 * Every target table against the source table of the same name: equal row counts and equal
 * md5 over the sorted canonical rows. Returns the differences (empty when equal) and totals.
 */
export async function compareAll(src: SourceReader, target: pg.Client, schema: string, tables: string[]): Promise<{ differences: Difference[]; compared: Map<string, TableData> }> {
  const cols = await pgColumns(target, schema);
  const differences: Difference[] = [];
  const compared = new Map<string, TableData>();
  for (const t of tables) {
    const c = cols.get(t);
    if (!c) {
      differences.push({ table: t, source_rows: -1, target_rows: -1, first_difference: { target: 'table missing on target' } });
      continue;
    }
    const s = summarise(await src.rows(t, c), c);
    const d = summarise(await pgTextRows(target, schema, t, c), c);
    compared.set(t, d);
    if (s.md5 !== d.md5 || s.rows !== d.rows) {
      const i = s.lines.findIndex((l, k) => d.lines[k] !== l);
      const k = i < 0 ? s.lines.length : i;
      differences.push({ table: t, source_rows: s.rows, target_rows: d.rows, first_difference: { source: s.lines[k]?.slice(0, 300), target: d.lines[k]?.slice(0, 300) } });
    }
  }
  return { differences, compared };
}

/** Constraints on the target: counts per kind and how many are not validated. */
export async function pgConstraints(c: pg.Client, schema: string): Promise<{ p: number; f: number; u: number; c: number; notValid: number; indexes: number }> {
  const r = await c.query<{ contype: string; n: string; bad: string }>(
    `SELECT contype, COUNT(*) n, COUNT(*) FILTER (WHERE NOT convalidated) bad FROM pg_constraint k JOIN pg_namespace s ON s.oid = k.connamespace
      WHERE s.nspname = $1 GROUP BY contype`,
    [schema],
  );
  const get = (t: string) => Number(r.rows.find((x) => x.contype === t)?.n ?? 0);
  const ix = await c.query<{ n: string }>(`SELECT COUNT(*) n FROM pg_indexes WHERE schemaname = $1`, [schema]);
  const invalid = await c.query<{ n: string }>(
    `SELECT COUNT(*) n FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND NOT i.indisvalid`,
    [schema],
  );
  return { p: get('p'), f: get('f'), u: get('u'), c: get('c'), notValid: r.rows.reduce((n, x) => n + Number(x.bad), 0) + Number(invalid.rows[0]?.n ?? 0), indexes: Number(ix.rows[0]?.n ?? 0) };
}
