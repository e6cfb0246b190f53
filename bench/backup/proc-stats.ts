import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const TICK = 100; // USER_HZ on Linux

/** The pid of the built-in agent (`ferry-agent run`) whose state lives under `workDir`. */
export function agentPid(workDir: string): number | null {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes('ferry-agent') && cmd.includes('\0run\0') && cmd.includes(workDir)) return Number(d);
    } catch {
      // gone
    }
  }
  return null;
}

/** CPU seconds of a process from /proc: its own user and system time, and its waited-for children's. */
export function procCpu(pid: number): { user: number; sys: number; children: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(f[11]) / TICK, sys: Number(f[12]) / TICK, children: (Number(f[13]) + Number(f[14])) / TICK };
}

/** CPU seconds per thread name (comm) of a process: where a process's time goes beyond its main thread. */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const raw = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = t === String(pid) ? 'main' : raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'));
      const f = raw.split(') ')[1]!.split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / TICK);
    } catch {
      // thread ended
    }
  }
  return out;
}

/** `after - before` per thread name, largest first, as "name 1.23" pairs. */
export function threadDelta(before: Map<string, number>, after: Map<string, number>): string {
  return [...after]
    .map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const)
    .filter(([, v]) => v >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
}

/** Whole-machine CPU seconds from /proc/stat: busy (everything but idle and iowait), idle, and steal (taken by the hypervisor). */
export function machineCpu(): { busy: number; idle: number; iowait: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]!;
  const iowait = f[4]!;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: (total - idle - iowait) / TICK, idle: idle / TICK, iowait: iowait / TICK, steal: (f[7] ?? 0) / TICK };
}

/** Bytes read from and written to the machine's whole disks (/proc/diskstats; partitions are not counted twice). */
export function diskBytes(): { read: number; written: number } {
  let read = 0;
  let written = 0;
  for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!/^(vd|sd|nvme\d+n|xvd)[a-z0-9]*$/.test(f[2] ?? '') || /^(vd|sd|xvd)[a-z]+\d+$|^nvme\d+n\d+p\d+$/.test(f[2]!)) continue;
    read += Number(f[5]) * 512;
    written += Number(f[9]) * 512;
  }
  return { read, written };
}

/** CPU seconds of a process's main thread only. */
export function mainCpu(pid: number): number {
  const f = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

/** Empties the page cache so a step reads from disk as a nightly backup would (needs root; skipped otherwise or with PROFILE_WARM). */
export function dropCaches(): void {
  if (process.env.PROFILE_WARM) return;
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    // not permitted (container): the step then reads a warm cache
  }
}

/**
 * CPU of one step: per thread of the hub (`hubPid`) and agent, the machine's busy/idle time, and
 * with `timeline` a strip of tenths of a CPU per 200 ms (hub main/agent main/agent other threads/machine).
 * `stop()` returns the lines to print.
 */
export function meterStep(hubPid: number, agent: number, timeline: boolean): { stop(): string[] } {
  const ht0 = threadCpu(hubPid);
  const at0 = threadCpu(agent);
  const m0 = machineCpu();
  const d0 = diskBytes();
  const sample = () => [mainCpu(hubPid), mainCpu(agent), procCpu(agent).user + procCpu(agent).sys - mainCpu(agent), machineCpu().busy];
  let prev = sample();
  const strip: string[] = [];
  const timer = timeline
    ? setInterval(() => {
        const cur = sample();
        strip.push(cur.map((v, i) => String(Math.round(((v - prev[i]!) / 0.2) * 10)).padStart(2)).join('/'));
        prev = cur;
      }, 200)
    : null;
  return {
    stop() {
      if (timer) clearInterval(timer);
      const m1 = machineCpu();
      const d1 = diskBytes();
      return [
        ...(timer ? [`  timeline (per 200 ms, tenths of a CPU: hub main/agent main/agent others/machine): ${strip.join(' ')}`] : []),
        `  machine: busy ${(m1.busy - m0.busy).toFixed(2)} s, idle ${(m1.idle - m0.idle).toFixed(2)} s, iowait ${(m1.iowait - m0.iowait).toFixed(2)} s, steal ${(m1.steal - m0.steal).toFixed(2)} s (all CPUs); disk read ${((d1.read - d0.read) / 1e6).toFixed(0)} MB, written ${((d1.written - d0.written) / 1e6).toFixed(0)} MB`,
        `  threads: hub ${threadDelta(ht0, threadCpu(hubPid))}; agent ${threadDelta(at0, threadCpu(agent))}`,
      ];
    },
  };
}
