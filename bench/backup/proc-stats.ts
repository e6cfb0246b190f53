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
