import { readdirSync, readFileSync } from 'node:fs';

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

/** Whole-machine CPU seconds from /proc/stat: busy (everything but idle and iowait) and idle. */
export function machineCpu(): { busy: number; idle: number; iowait: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]!;
  const iowait = f[4]!;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: (total - idle - iowait) / TICK, idle: idle / TICK, iowait: iowait / TICK };
}

/** CPU seconds of a process's main thread only. */
export function mainCpu(pid: number): number {
  const f = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}
