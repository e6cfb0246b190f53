/**
 * The qcow2 disk source alone, outside the hub: where a ferry-qcow2 backup spends its time on
 * the agent before anything is sent (open: qemu-img + qemu-nbd + handshake, BLOCK_STATUS,
 * audit, reads, hashing). The read loop does what tasks/backup-disk.ts does (read steps of up to
 * 16 chunks, READ_AHEAD in flight, sha256 + zero test per chunk) and sends nothing.
 *
 *   BENCH_IMG_MIB=2048 node --import tsx bench/backup/qcow2-source.ts
 *
 * Env: BENCH_IMG_MIB (2048), BENCH_SEED (42), BENCH_WORK (/tmp/ferry-qcow2-source; the images
 * are kept there and reused while their size and seed match), RUNS (2), SERIES ("scattered
 * clustered"), FULL_RUNS (RUNS), READ_AHEAD (6, as backup-disk.ts), READ_AHEAD_ALT ("6,16": alternates
 * per incremental run, for comparing under the same load), READ_BYTES (1 MiB).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAllZero } from '../../common/src/chunking/index.ts';
import { auditChunks, pickSample } from '../../node-agent/src/disks/audit.ts';
import { CHUNK_ACTION, planChunks, planSteps } from '../../node-agent/src/disks/chunk-plan.ts';
import { Qcow2NbdSource } from '../../node-agent/src/disks/qcow2-nbd.ts';
import { applyChanges, ensureQemu, rawToQcow2 } from './qcow2.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MIB = Number(process.env.BENCH_IMG_MIB ?? 2048);
const SEED = Number(process.env.BENCH_SEED ?? 42);
const WORK = path.resolve(process.env.BENCH_WORK ?? '/tmp/ferry-qcow2-source');
const RUNS = Number(process.env.RUNS ?? 2);
const FULL_RUNS = Number(process.env.FULL_RUNS ?? RUNS);
const SERIES = (process.env.SERIES ?? 'scattered clustered').split(/\s+/).filter(Boolean) as ('scattered' | 'clustered')[];
const READ_BYTES = Number(process.env.READ_BYTES ?? 1024 * 1024);
const CHUNK = 65536;
const GEN = [path.join(ROOT, '../shared/bench/peers/gen_disk_image.py'), '/work/shared/bench/peers/gen_disk_image.py'].find((p) => existsSync(p))!;
const TICK = 100;

function procCpu(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}

function ms(t0: number): number {
  return performance.now() - t0;
}

interface Pass {
  digests: (string | null)[];
  line: string;
}

/** One backup's agent-side work on `img`: open, extents, audit, reads + hashing. */
async function pass(img: string, token: string | null, previous: (string | null)[] | null): Promise<Pass & { token: string | null }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const src = await Qcow2NbdSource.open(img, [`${path.dirname(img)}/*`], { chain: 'bench', token });
  const tOpen = ms(t0);
  const server = (src as unknown as { server: { pid?: number } }).server;
  const nbdCpu0 = procCpu(server.pid);
  const size = src.describe().size;
  let t = performance.now();
  const allocated = await src.allocatedExtents();
  const changed = previous ? await src.changedExtents(token) : null;
  if (changed && !changed.tracked) throw new Error(`not tracked: ${changed.note}`);
  const tStatus = ms(t);
  const plan = planChunks(size, CHUNK, allocated, changed ? changed.extents : null);
  let requests = 0;
  let bytes = 0;
  // Pooled buffers, as backup-disk.ts uses for sources with readInto (the qcow2 source's is named fill for now).
  const readInto = (b: Buffer, o: number, l: number) => {
    requests++;
    bytes += l;
    return src.readInto(b, o, l);
  };
  const read = src.read.bind(src);
  src.read = (o, l) => {
    requests++;
    bytes += l;
    return read(o, l);
  };
  t = performance.now();
  let audit = { sampled: 0, bytesRead: 0, mismatches: [] as number[] };
  if (previous) {
    const carried: number[] = [];
    for (let i = 0; i < plan.length; i++) if (plan[i] === CHUNK_ACTION.carry) carried.push(i);
    audit = await auditChunks(src, pickSample(carried, 1), previous, CHUNK);
    if (audit.mismatches.length) throw new Error(`audit mismatches: ${audit.mismatches.length}`);
  }
  const tAudit = ms(t);
  const auditRequests = requests;
  const readAhead = Number(process.env.READ_AHEAD ?? 6);
  const stepBytes = READ_BYTES;
  const pool: Buffer[] = [];
  const acquire = () => pool.pop() ?? Buffer.allocUnsafeSlow(stepBytes);
  const digests: (string | null)[] = previous ? [...previous] : new Array<string | null>(plan.length).fill(null);
  t = performance.now();
  let hashMs = 0;
  const steps = planSteps(plan, Math.max(1, stepBytes / CHUNK));
  const inflight = new Map<number, Promise<Buffer>>();
  let launched = 0;
  for (let k = 0; k < steps.length; k++) {
    while (launched < steps.length && inflight.size < readAhead) {
      const s = steps[launched]!;
      if (s.action === CHUNK_ACTION.read) inflight.set(launched, readInto(acquire(), s.start * CHUNK, s.count * CHUNK));
      launched++;
    }
    const s = steps[k]!;
    if (s.action !== CHUNK_ACTION.read) continue;
    const buf = await inflight.get(k)!;
    inflight.delete(k);
    const h = performance.now();
    for (let c = 0; c < s.count; c++) {
      const data = buf.subarray(c * CHUNK, Math.min((c + 1) * CHUNK, buf.length));
      digests[s.start + c] = isAllZero(data) ? null : createHash('sha256').update(data).digest('hex');
    }
    hashMs += ms(h);
    pool.push(Buffer.from(buf.buffer, 0, stepBytes));
  }
  const tRead = ms(t);
  const nbdCpu = procCpu(server.pid) - nbdCpu0;
  const t1 = performance.now();
  const newToken = src.changeToken();
  await src.release();
  const tRelease = ms(t1);
  const cpu = process.cpuUsage(cpu0);
  const total = ms(t0);
  const o = src.openTimings;
  const line =
    `total ${(total / 1000).toFixed(3)} s | open ${tOpen.toFixed(0)} ms (${Object.entries(o).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}) | status ${tStatus.toFixed(0)} ms` +
    ` | audit ${tAudit.toFixed(0)} ms (${audit.sampled} chunks) | read ${tRead.toFixed(0)} ms: ${requests - auditRequests} requests, ${(bytes / 1e6).toFixed(1)} MB incl. audit, ahead ${readAhead}, hash ${hashMs.toFixed(0)} ms` +
    ` | ${JSON.stringify(src.reader.stats)}` +
    ` | release ${tRelease.toFixed(0)} ms | CPU node ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, qemu-nbd ${nbdCpu.toFixed(2)} s (reads only)`;
  return { digests, line, token: newToken };
}

async function main(): Promise<void> {
  ensureQemu();
  mkdirSync(WORK, { recursive: true });
  const base = path.join(WORK, 'base.img');
  const stamp = path.join(WORK, 'stamp');
  const want = `${MIB} ${SEED}`;
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    console.log(`generating ${MIB} MiB image (seed ${SEED}) in ${WORK}`);
    rmSync(stamp, { force: true });
    execFileSync('python3', [GEN, 'create', base, String(MIB), String(SEED)]);
    for (const series of ['scattered', 'clustered']) {
      const after = path.join(WORK, `${series}.img`);
      copyFileSync(base, after);
      execFileSync('python3', [GEN, 'mutate', after, String(SEED + 1), '1', series]);
    }
    rawToQcow2(base, path.join(WORK, 'base.qcow2'));
    writeFileSync(stamp, want);
  }
  for (const series of SERIES) {
    const dir = path.join(WORK, series);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const img = path.join(dir, 'disk.qcow2');
    copyFileSync(path.join(WORK, 'base.qcow2'), img);
    let full: Pass & { token: string | null } = { digests: [], line: '', token: null };
    for (let r = 0; r < Math.max(1, FULL_RUNS); r++) {
      // Each full starts the chain afresh; the last one's bitmap records the changes below.
      full = await pass(img, null, null);
      console.log(`${series} full #${r + 1}: ${full.line}`);
    }
    await applyChanges(base, path.join(WORK, `${series}.img`), img);
    for (let r = 0; r < RUNS; r++) {
      // The same parent token each time: a retried incremental sees the same dirty extents.
      if (process.env.READ_AHEAD_ALT) process.env.READ_AHEAD = process.env.READ_AHEAD_ALT.split(',')[r % process.env.READ_AHEAD_ALT.split(',').length];
      const inc = await pass(img, full.token, full.digests);
      console.log(`${series} incremental #${r + 1}: ${inc.line}`);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
