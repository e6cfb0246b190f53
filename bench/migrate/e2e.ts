/**
 * `npm run bench:migrate`: Ferry migrations through a real hub process and its built-in agent,
 * driven only over the REST API, beside the peer tools on the same data in the same run:
 * PostgreSQL -> PostgreSQL beside `pg_dump -Fc -Z0 | pg_restore` and `pg_dump -Fc | pg_restore`,
 * SQLite and MariaDB -> PostgreSQL beside pgloader. Every Ferry target is checked equal to the
 * source (row counts and an md5 over every row in key order). Writes bench/results/migrate.md.
 *
 * Env: BENCH_ROWS (orders; customers = rows/25; default 5000000), BENCH_SCENARIOS
 * (pg,sqlite,mysql,peers), BENCH_PARALLELISM (migration option parallelism, 2),
 * BENCH_UNIT_ROWS (option batch_size = rows per unit, 250000), BENCH_VALIDATION ("" = row counts only, like
 * the peers; "all" or a list of kinds adds the validation and certificate), BENCH_WORK (/tmp/ferry-bench-migrate).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { cpuSeconds, peakRssMb, sleep, startHubProcess, type HubProcess } from './hub-process.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 5_000_000);
const CROWS = Math.max(1, Math.floor(ROWS / 25));
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'pg,sqlite,mysql,peers').split(',');
const PARALLELISM = Number(process.env.BENCH_PARALLELISM ?? 2);
const UNIT_ROWS = Number(process.env.BENCH_UNIT_ROWS ?? 250_000);
/** Validation kinds after cutover: "" = row counts only (what the peers do, nothing more), "all" = the five kinds and the certificate. */
const VALIDATION = process.env.BENCH_VALIDATION ?? '';
const WORK = process.env.BENCH_WORK ?? '/tmp/ferry-bench-migrate';
const PEERS = process.env.PEERS_DIR ?? '/work/shared/bench/peers';
const SRC = `ferry_bench_src_${ROWS}`;
const DST = 'ferry_bench_dst';
const SQLITE = path.join(WORK, `${SRC}.sqlite`);
const HERE = import.meta.dirname;
const PGENV = { ...process.env, PGHOST: '127.0.0.1', PGPORT: '5432', PGUSER: 'postgres' };
const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

async function pgq<T = Record<string, unknown>>(db: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: db });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

async function resetDst(): Promise<void> {
  await pgq('postgres', `DROP DATABASE IF EXISTS ${DST} WITH (FORCE)`);
  await pgq('postgres', `CREATE DATABASE ${DST}`);
  await pgq('postgres', 'CHECKPOINT');
}

/** Row counts and md5 over every row (as text, in key order) of both tables. */
async function fingerprint(db: string, schema = 'public'): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of ['customers', 'orders']) {
    const [r] = await pgq<{ n: string; h: string }>(db, `SELECT count(*)::text AS n, md5(string_agg(md5(x::text), '' ORDER BY id)) AS h FROM "${schema}"."${t}" x`);
    out[`${t}.rows`] = r!.n;
    out[`${t}.md5`] = r!.h;
  }
  return out;
}

function copyTextBytes(): number {
  const cache = path.join(WORK, `${SRC}.copytext_bytes`);
  if (fs.existsSync(cache)) return Number(fs.readFileSync(cache, 'utf8'));
  let total = 0;
  for (const t of ['customers', 'orders']) {
    const out = execFileSync('bash', ['-c', `psql -X -q -d ${SRC} -c "\\copy ${t} to stdout" | wc -c`], { env: PGENV, encoding: 'utf8' });
    total += Number(out.trim());
  }
  fs.writeFileSync(cache, String(total));
  return total;
}

interface Row {
  scenario: string;
  seconds: number;
  peer?: string;
  hubRss?: number | null;
  agentRss?: number | null;
  equal?: boolean | null;
  note?: string;
  /** CPU seconds used during the run by the hub and the agent. */
  hubCpu?: number | null;
  agentCpu?: number | null;
}

function timeShell(cmd: string): number {
  const t = performance.now();
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { env: PGENV, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-2000)}`);
  return (performance.now() - t) / 1000;
}

async function waitStatus(h: HubProcess, id: string, want: string[], timeoutMs: number, sample?: () => void): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = (await h.req<{ status: string; error?: unknown }>('GET', `/api/v1/migrations/${id}`)).body;
    if (want.includes(m.status)) return m.status;
    if (['failed', 'cancelled'].includes(m.status)) throw new Error(`migration ${id} ended ${m.status}: ${JSON.stringify(m.error)}`);
    if (Date.now() > end) throw new Error(`migration ${id} still ${m.status} after ${timeoutMs / 1000} s`);
    sample?.();
    await sleep(200);
  }
}

/** One Ferry migration through a fresh hub: plan, approve what waits for review, start, time until completed. */
async function ferry(scenario: string, source: Record<string, unknown>): Promise<Row & { planSeconds: number }> {
  await resetDst();
  const h = await startHubProcess(path.join(WORK, 'hub.log'));
  try {
    const conn = async (body: Record<string, unknown>) => {
      const r = await h.req<{ id: string }>('POST', '/api/v1/connections', body);
      if (r.status !== 201) throw new Error(`POST /connections: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.id;
    };
    const srcId = await conn({ name: `${scenario} source`, ...source });
    const dstId = await conn({ name: 'bench target', connection_string: `postgresql://postgres@127.0.0.1:5432/${DST}` });
    const t0 = performance.now();
    const created = await h.req<{ id: string }>('POST', '/api/v1/migrations', {
      name: `bench ${scenario}`, source: { connection_id: srcId }, target: { connection_id: dstId, schema: 'public' },
      options: { parallelism: PARALLELISM, batch_size: UNIT_ROWS, ...(VALIDATION === 'all' ? {} : { validation_kinds: VALIDATION ? VALIDATION.split(',') : [] }) },
    });
    if (created.status !== 201) throw new Error(`POST /migrations: ${created.status} ${JSON.stringify(created.body)}`);
    const id = created.body.id;
    const planned = await waitStatus(h, id, ['plan_ready', 'approved'], 30 * 60_000);
    if (planned === 'plan_ready') {
      const maps = (await h.req<{ data: { id: string; status: string }[] }>('GET', `/api/v1/migrations/${id}/mappings?limit=100`)).body.data;
      for (const m of maps.filter((x) => x.status !== 'approved')) {
        const r = await h.req('POST', `/api/v1/migrations/${id}/plan/mappings/${m.id}/approve`, { approved: true, comment: 'benchmark' });
        if (r.status !== 200) throw new Error(`approve ${m.id}: ${r.status} ${JSON.stringify(r.body)}`);
      }
      await waitStatus(h, id, ['approved'], 60_000);
    }
    // POST /migrations drops options.validation_kinds today (hub/src/api/routes/migrations.ts); PATCH keeps it.
    const patched = await h.req('PATCH', `/api/v1/migrations/${id}`, { options: { validation_kinds: VALIDATION === 'all' ? ['structural', 'statistical', 'referential', 'semantic', 'behavioral'] : VALIDATION ? VALIDATION.split(',') : [] } });
    if (patched.status !== 200) throw new Error(`PATCH options: ${patched.status} ${JSON.stringify(patched.body)}`);
    const planSeconds = (performance.now() - t0) / 1000;
    let agentPid = h.agentPid();
    let agentRss: number | null = null;
    let agentCpu: number | null = null;
    const agentCpu0 = agentPid ? cpuSeconds(agentPid) ?? 0 : 0;
    const hubCpu0 = cpuSeconds(h.pid) ?? 0;
    const sample = () => {
      agentPid ??= h.agentPid();
      if (agentPid) {
        agentRss = Math.max(agentRss ?? 0, peakRssMb(agentPid) ?? 0);
        agentCpu = (cpuSeconds(agentPid) ?? agentCpu0) - agentCpu0;
      }
    };
    const t1 = performance.now();
    const started = await h.req('POST', `/api/v1/migrations/${id}/start`, {});
    if (started.status !== 200 && started.status !== 202) throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
    await waitStatus(h, id, ['completed'], 60 * 60_000, sample);
    const seconds = (performance.now() - t1) / 1000;
    sample();
    const hubRss = peakRssMb(h.pid);
    const hubCpu = (cpuSeconds(h.pid) ?? hubCpu0) - hubCpu0;
    // Evidence for where the time goes: the migration's own log and phase timings.
    const logs = (await h.req<{ data: { timestamp?: string; created_at?: string; phase?: string; message: string }[] }>('GET', `/api/v1/migrations/${id}/logs?limit=1000`)).body.data ?? [];
    const status = (await h.req('GET', `/api/v1/migrations/${id}/status`)).body;
    fs.writeFileSync(path.join(WORK, `${scenario.replace(/\W+/g, '_')}.log`),
      JSON.stringify(status, null, 1) + '\n' + logs.map((l) => `${l.timestamp ?? l.created_at ?? ''} [${l.phase ?? ''}] ${l.message}`).join('\n') + '\n');
    return { scenario, seconds, planSeconds, hubRss, agentRss, hubCpu, agentCpu };
  } finally {
    await h.stop();
  }
}

function pgloaderFile(template: string, out: string, vars: Record<string, string>): string {
  let s = fs.readFileSync(path.join(PEERS, template), 'utf8');
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`@${k}@`, v);
  fs.writeFileSync(out, s.replace('/bench_src', `/${SRC}`).replace('/bench_dst', `/${DST}`));
  return out;
}

function ensurePgloader(): boolean {
  if (spawnSync('bash', ['-c', 'command -v pgloader']).status === 0) return true;
  log('installing pgloader from Debian');
  return spawnSync('bash', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgloader'], { stdio: 'inherit' }).status === 0;
}

async function main(): Promise<void> {
  fs.mkdirSync(WORK, { recursive: true });
  log(`sources: ${ROWS} orders + ${CROWS} customers (seeded, cached in ${WORK})`);
  execFileSync('bash', [path.join(HERE, 'gen.sh')], { env: { ...PGENV, BENCH_ROWS: String(ROWS), BENCH_WORK: WORK }, stdio: 'inherit' });
  const bytes = copyTextBytes();
  const total = ROWS + CROWS;
  const expected = await fingerprint(SRC);
  const rows: Row[] = [];
  const equal = async (schema = 'public') => JSON.stringify(await fingerprint(DST, schema)) === JSON.stringify(expected);

  if (SCENARIOS.includes('peers')) {
    await resetDst();
    rows.push({ scenario: 'pg_dump -Fc -Z0 | pg_restore', seconds: timeShell(`pg_dump -Fc -Z0 -d ${SRC} | pg_restore -d ${DST}`), equal: await equal() });
    log(`pg_dump -Z0: ${rows.at(-1)!.seconds.toFixed(1)} s`);
    await resetDst();
    rows.push({ scenario: 'pg_dump -Fc | pg_restore', seconds: timeShell(`pg_dump -Fc -d ${SRC} | pg_restore -d ${DST}`), equal: await equal() });
    log(`pg_dump: ${rows.at(-1)!.seconds.toFixed(1)} s`);
    if (ensurePgloader()) {
      await resetDst();
      const sq = pgloaderFile('pgloader_sqlite.load.in', path.join(WORK, 'pgloader_sqlite.load'), { SQLITE_DB: SQLITE, PGUSER: 'postgres', PGHOST: '127.0.0.1', PGPORT: '5432', WORKERS: '4', CONCURRENCY: '1' });
      rows.push({ scenario: 'pgloader SQLite', seconds: timeShell(`pgloader --no-ssl-cert-verification --logfile ${WORK}/pgloader_sqlite.log ${sq} > ${WORK}/pgloader_sqlite.out 2>&1`), equal: null, note: 'counts checked' });
      const [c] = await pgq<{ n: string }>(DST, 'SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM customers) AS n');
      if (Number(c!.n) !== total) throw new Error(`pgloader SQLite loaded ${c!.n} rows, not ${total}`);
      log(`pgloader SQLite: ${rows.at(-1)!.seconds.toFixed(1)} s`);
      await resetDst();
      spawnSync('mariadb', ['-h', '127.0.0.1', '-u', 'root', '-e', `CREATE USER IF NOT EXISTS 'bench'@'127.0.0.1' IDENTIFIED BY 'bench'; GRANT ALL ON ${SRC}.* TO 'bench'@'127.0.0.1';`]);
      const myLoad = pgloaderFile('pgloader_mysql.load.in', path.join(WORK, 'pgloader_mysql.load'), { PGUSER: 'postgres', PGHOST: '127.0.0.1', PGPORT: '5432' });
      rows.push({ scenario: 'pgloader MariaDB', seconds: timeShell(`pgloader --logfile ${WORK}/pgloader_mysql.log ${myLoad} > ${WORK}/pgloader_mysql.out 2>&1`), equal: null, note: 'counts checked' });
      const [m] = await pgq<{ n: string }>(DST, `SELECT (SELECT count(*) FROM "${SRC}".orders) + (SELECT count(*) FROM "${SRC}".customers) AS n`);
      if (Number(m!.n) !== total) throw new Error(`pgloader MariaDB loaded ${m!.n} rows, not ${total}`);
      log(`pgloader MariaDB: ${rows.at(-1)!.seconds.toFixed(1)} s`);
    }
  }
  const plans: string[] = [];
  const run = async (scenario: string, peer: string, source: Record<string, unknown>) => {
    const r = await ferry(scenario, source);
    r.peer = peer;
    r.equal = await equal();
    rows.push(r);
    plans.push(`${scenario}: planning (introspect, profile, plan, approval) ${r.planSeconds.toFixed(1)} s before start; CPU during the run: hub ${r.hubCpu?.toFixed(1)} s, agent ${r.agentCpu?.toFixed(1)} s`);
    log(`${scenario}: ${r.seconds.toFixed(1)} s, equal ${r.equal}, hub ${r.hubRss?.toFixed(0)} MB ${r.hubCpu?.toFixed(1)} CPU-s, agent ${r.agentRss?.toFixed(0)} MB ${r.agentCpu?.toFixed(1)} CPU-s`);
  };
  if (SCENARIOS.includes('pg')) await run('Ferry PostgreSQL -> PostgreSQL', 'pg_dump -Fc -Z0 | pg_restore', { connection_string: `postgresql://postgres@127.0.0.1:5432/${SRC}` });
  if (SCENARIOS.includes('sqlite')) await run('Ferry SQLite -> PostgreSQL', 'pgloader SQLite', { type: 'sqlite', path: SQLITE });
  if (SCENARIOS.includes('mysql')) await run('Ferry MariaDB -> PostgreSQL', 'pgloader MariaDB', { connection_string: `mysql://root@127.0.0.1:3306/${SRC}` });

  const byName = new Map(rows.map((r) => [r.scenario, r]));
  const mb = bytes / 1e6;
  const fmt = (n: number | null | undefined, d = 0) => (n === null || n === undefined ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  const lines = [
    '# Migration benchmark',
    '',
    `${new Date().toISOString()} · ${total.toLocaleString('en-US')} rows (${ROWS.toLocaleString('en-US')} orders + ${CROWS.toLocaleString('en-US')} customers, seed 42) · ` +
      `${mb.toFixed(1)} MB as COPY text · Ferry options parallelism ${PARALLELISM}, batch_size ${UNIT_ROWS}, validation_kinds ${VALIDATION === 'all' ? 'all five' : `[${VALIDATION}]`} · load average at the end ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    '',
    'Ferry: a real hub process (`node bin/ferry-hub.js`) and its built-in agent, driven over REST; seconds from `POST .../start` to `completed` ' +
      '(schema, data, validation counts, cutover with keys, indexes, foreign keys, ANALYZE). Peers: wall time of the whole command into an empty database. ' +
      'ratio = peer seconds / Ferry seconds (above 1: Ferry is faster). Equal = row counts and md5 over every row in key order match the source.',
    '',
    '| scenario | seconds | rows/s | MB/s | peer | ratio to peer | peak RSS hub MB | peak RSS agent MB | equal |',
    '|---|---:|---:|---:|---|---:|---:|---:|---|',
    ...rows.map((r) => {
      const peer = r.peer ? byName.get(r.peer) : undefined;
      const esc = (x: string) => x.replaceAll('|', '\\|');
      return `| ${esc(r.scenario)} | ${r.seconds.toFixed(1)} | ${fmt(total / r.seconds)} | ${(mb / r.seconds).toFixed(1)} | ${esc(r.peer ?? '')} | ${peer ? (peer.seconds / r.seconds).toFixed(2) : ''} | ${fmt(r.hubRss)} | ${fmt(r.agentRss)} | ${r.equal === null || r.equal === undefined ? r.note ?? '' : r.equal ? 'yes' : '**NO**'} |`;
    }),
    '',
    ...plans.map((p) => `- ${p}`),
    '',
  ];
  const out = path.join(HERE, '..', 'results', 'migrate.md');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join('\n'));
  console.log(lines.join('\n'));
  await pgq('postgres', `DROP DATABASE IF EXISTS ${DST} WITH (FORCE)`);
  if (rows.some((r) => r.equal === false)) process.exitCode = 1;
}

await main();
