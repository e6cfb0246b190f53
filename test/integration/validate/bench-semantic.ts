/**
 * Semantic validation speed beside `COPY ... TO STDOUT` of the same table (the practical limit
 * of reading it). Run: node --import tsx test/integration/validate/bench-semantic.ts [rows]
 */
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { runSemantic } from '../../../hub/src/validate/checks/semantic.ts';
import type { ValidationTable } from '../../../hub/src/validate/tables.ts';
import { normFor } from '../../../hub/src/validate/tables.ts';
import { semanticBuckets } from '../../../node-agent/src/validate/semantic.ts';
import { createPgDatabase, dropPgDatabase, psql } from '../connectors/fixtures.ts';
import { directSides, pgConn } from './sides.ts';

const rows = Number(process.argv[2] ?? 1_000_000);
const src = createPgDatabase();
const dst = createPgDatabase();
const ddl = `CREATE TABLE bench (id bigint PRIMARY KEY, customer integer NOT NULL, amount numeric(12,2), label text, created timestamp(0), flag boolean);
INSERT INTO bench SELECT g, g % 5000, (g * 7 % 100000) / 100.0, 'label ' || md5(g::text), timestamp '2020-01-01' + g * interval '1 second', g % 3 = 0 FROM generate_series(1, ${rows}) g;
ANALYZE bench;`;
try {
  psql(src, ddl);
  psql(dst, ddl);
  const cols: [string, string][] = [['id', 'bigint'], ['customer', 'integer'], ['amount', 'numeric(12,2)'], ['label', 'text'], ['created', 'timestamp(0) without time zone'], ['flag', 'boolean']];
  const side = { schema: 'public', table: 'bench', columns: cols.map(([name, type]) => ({ name, norm: normFor(type) })), key: [0], key_integer: true };
  const vt: ValidationTable = { label: 'public.bench', source: side, target: side, foreign_keys: [] };

  const c = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: src });
  await c.connect();
  let t0 = performance.now();
  let bytes = 0;
  for await (const chunk of c.query(copyStreams.to('COPY (SELECT id, customer, amount, label, created, flag FROM bench) TO STDOUT')) as AsyncIterable<Buffer>) bytes += chunk.length;
  const copyS = (performance.now() - t0) / 1000;
  await c.end();

  t0 = performance.now();
  await semanticBuckets(pgConn(src), side, { kind: 'range', lo: '1', width: '10000', count: Math.ceil(rows / 10000), open: true });
  const oneSideS = (performance.now() - t0) / 1000;

  t0 = performance.now();
  const both = await runSemantic(directSides(pgConn(src), pgConn(dst)), [vt]);
  const bothS = (performance.now() - t0) / 1000;

  psql(dst, `UPDATE bench SET amount = amount + 1 WHERE id IN (17, 500000); DELETE FROM bench WHERE id = 999999;`);
  t0 = performance.now();
  const damaged = await runSemantic(directSides(pgConn(src), pgConn(dst)), [vt]);
  const damagedS = (performance.now() - t0) / 1000;

  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`rows: ${f(rows)}, COPY text ${(bytes / 1e6).toFixed(0)} MB`);
  console.log(`COPY TO STDOUT (read only):           ${copyS.toFixed(2)} s  ${f(rows / copyS)} rows/s`);
  console.log(`semantic, one side (read+hash):       ${oneSideS.toFixed(2)} s  ${f(rows / oneSideS)} rows/s  (${(copyS / oneSideS * 100).toFixed(0)} % of COPY)`);
  console.log(`semantic, both sides in parallel:     ${bothS.toFixed(2)} s  ${f(rows / bothS)} rows/s  status ${both.status}`);
  console.log(`semantic, 3 damaged rows (bisection): ${damagedS.toFixed(2)} s  ${f(rows / damagedS)} rows/s  status ${damaged.status} ${JSON.stringify(damaged.counts)}`);
} finally {
  dropPgDatabase(src);
  dropPgDatabase(dst);
}
