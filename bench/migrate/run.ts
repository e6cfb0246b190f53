/**
 * The agent-side ceiling of the migration data path: reader -> loader in one process (no hub,
 * no gRPC), for PostgreSQL (binary and text COPY), SQLite and MariaDB sources of the same
 * seeded dataset into bare PostgreSQL tables. Prints rows/s and MB/s per run, checks the target
 * equals the PostgreSQL source (row counts and an md5 over every row), writes bench/results/.
 *
 *   bash bench/migrate/gen.sh && node --import tsx bench/migrate/run.ts
 * Env: BENCH_ROWS (200000), BENCH_PARALLEL (units in flight, 2), BENCH_UNIT_ROWS (250000),
 *      BENCH_SOURCES (pg-binary,pg-text,sqlite,sqlite-binary,mysql,mysql-binary), BENCH_WORK (/tmp/ferry-bench-migrate).
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { UnitColumn, UnitSpec, WireConnection } from '../../common/src/migrate-tasks.ts';
import { openUnitReader } from '../../node-agent/src/datapath/readers/index.ts';
import { loadUnit } from '../../node-agent/src/datapath/pg-loader.ts';
import { planUnits } from '../../node-agent/src/datapath/plan-units.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 2);
const UNIT_ROWS = Number(process.env.BENCH_UNIT_ROWS ?? 250_000);
const SOURCES = (process.env.BENCH_SOURCES ?? 'pg-binary,pg-text,sqlite,sqlite-binary,mysql,mysql-binary').split(',');
const WORK = process.env.BENCH_WORK ?? '/tmp/ferry-bench-migrate';
const SRC_DB = `ferry_bench_src_${ROWS}`;
const DST_DB = `ferry_bench_dst_${ROWS}`;
const PG = { type: 'postgresql' as const, host: '127.0.0.1', port: 5432, user: 'postgres' };

const TARGET_DDL = `
DROP TABLE IF EXISTS orders, customers;
CREATE TABLE customers (id bigint NOT NULL, name varchar(64) NOT NULL, email varchar(128), country char(2) NOT NULL,
  created_at timestamp NOT NULL, is_active boolean NOT NULL, credit_limit numeric(12,2));
CREATE TABLE orders (id bigint NOT NULL, customer_id integer NOT NULL, amount numeric(12,2) NOT NULL, status varchar(64) NOT NULL,
  note text, created_at timestamp NOT NULL, shipped_at timestamp, is_paid boolean NOT NULL, discount numeric(12,2), quantity integer);`;

type Source = 'pg-binary' | 'pg-text' | 'sqlite' | 'mysql';
type Variant = Source | 'sqlite-binary' | 'mysql-binary';
const c = (source: string, target_type: string, transformation = 'none'): UnitColumn => ({ source, source_type: '', target: source, target_type, transformation });

/** Mapped columns per source, as the planner maps these declarations. */
function columns(source: Source, table: 'customers' | 'orders'): UnitColumn[] {
  const sqlite = source === 'sqlite';
  const my = source === 'mysql';
  const ts = (n: string) => c(n, 'timestamp without time zone', sqlite ? 'timestamp_from_text' : 'none');
  const bool = (n: string) => c(n, 'boolean', sqlite || my ? 'bool_from_int' : 'none');
  const num = (n: string) => c(n, 'numeric(12,2)', sqlite ? 'cast' : 'none');
  if (table === 'customers') {
    return [c('id', 'bigint'), c('name', 'character varying(64)'), c('email', 'character varying(128)'), c('country', 'character(2)'),
      ts('created_at'), bool('is_active'), num('credit_limit')];
  }
  return [c('id', 'bigint'), c('customer_id', 'integer', my ? 'cast' : 'none'), num('amount'), c('status', 'character varying(64)'), c('note', 'text'),
    ts('created_at'), ts('shipped_at'), bool('is_paid'), num('discount'), c('quantity', 'integer')];
}

function connection(source: Source): { conn: WireConnection; schema: string } {
  if (source === 'sqlite') return { conn: { type: 'sqlite', path: path.join(WORK, `${SRC_DB}.sqlite`) }, schema: 'main' };
  if (source === 'mysql') return { conn: { type: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', database: SRC_DB }, schema: SRC_DB };
  return { conn: { ...PG, database: SRC_DB }, schema: 'public' };
}

async function pgQuery(database: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ ...PG, database });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

async function runPool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

const CHECK_SQL = `SELECT (SELECT count(*) FROM customers)::text AS customers, (SELECT count(*) FROM orders)::text AS orders,
  (SELECT md5(string_agg(md5(c::text), '' ORDER BY id)) FROM customers c) AS c_md5,
  (SELECT md5(string_agg(md5(o::text), '' ORDER BY id)) FROM orders o) AS o_md5`;

async function benchOne(variant: Variant, expected: Record<string, unknown>) {
  await pgQuery(DST_DB, TARGET_DDL);
  const source = variant.replace('-binary', '') === 'pg' ? 'pg-binary' : (variant.replace('-binary', '') as Source);
  const { conn, schema } = connection(source);
  const format = variant.endsWith('-binary') ? 'binary' : 'text';
  const started = performance.now();
  const plan = await planUnits({ connection: conn, rows_per_unit: UNIT_ROWS, tables: [
    { schema, table: 'customers', key_column: 'id', row_estimate: Math.round(ROWS / 25) },
    { schema, table: 'orders', key_column: 'id', row_estimate: ROWS },
  ] });
  const units: UnitSpec[] = plan.tables.flatMap((t) => (t.ranges ?? [null]).map((range, i) => ({
    unit_id: `${t.table}-${i}`, source_schema: schema, source_table: t.table, target_schema: 'public', target_table: t.table,
    columns: columns(source, t.table as 'customers' | 'orders'), range,
  })));
  let rows = 0;
  let bytes = 0;
  await runPool(units, PARALLEL, async (u) => {
    const reader = openUnitReader(conn, u, { format });
    const r = await loadUnit({ ...PG, database: DST_DB }, u, reader.frames, { format, fresh: true });
    rows += r.rows;
    bytes += r.bytes;
  });
  const seconds = (performance.now() - started) / 1000;
  const [got] = await pgQuery(DST_DB, CHECK_SQL);
  const equal = JSON.stringify(got) === JSON.stringify(expected);
  return { source: variant, format, units: units.length, rows, bytes, seconds, rows_per_s: rows / seconds, mb_per_s: bytes / 1e6 / seconds, equal };
}

async function main() {
  await pgQuery('postgres', `DROP DATABASE IF EXISTS ${DST_DB}`);
  await pgQuery('postgres', `CREATE DATABASE ${DST_DB}`);
  const [expected] = await pgQuery(SRC_DB, CHECK_SQL);
  const copyText = await pgQuery(SRC_DB, `SELECT pg_size_pretty(pg_total_relation_size('orders') + pg_total_relation_size('customers')) AS size`);
  console.log(`dataset ${SRC_DB}: ${String(expected!.customers)} customers + ${String(expected!.orders)} orders (${String(copyText[0]!.size)} in PostgreSQL); parallel ${PARALLEL}, ${UNIT_ROWS} rows/unit`);
  const results = [];
  for (const s of SOURCES as Variant[]) {
    const r = await benchOne(s, expected!);
    results.push(r);
    console.log(`${s.padEnd(10)} ${r.rows} rows in ${r.seconds.toFixed(2)} s: ${Math.round(r.rows_per_s).toLocaleString('en-US')} rows/s, ${r.mb_per_s.toFixed(1)} MB/s (${(r.bytes / 1e6).toFixed(1)} MB ${r.format}), ${r.units} units, ${r.equal ? 'target equals source' : 'TARGET DIFFERS'}`);
  }
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(`peak RSS of the bench process (readers + loaders): ${rss.toFixed(0)} MB`);
  const out = path.join(import.meta.dirname, '..', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, `migrate-datapath-${ROWS}.json`), JSON.stringify({ rows: ROWS, parallel: PARALLEL, unit_rows: UNIT_ROWS, peak_rss_mb: Math.round(rss), results, at: new Date().toISOString() }, null, 2));
  await pgQuery('postgres', `DROP DATABASE IF EXISTS ${DST_DB}`);
  if (results.some((r) => !r.equal)) process.exitCode = 1;
}

await main();
