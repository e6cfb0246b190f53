import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  waitFor(re: RegExp, ms?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Start one of our bins (`ferry-hub`, `ferry-agent`) as a real process, the way a user would. */
export function startBin(bin: 'ferry-hub' | 'ferry-agent', args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', `${bin}.js`), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    async waitFor(re, ms = 30_000) {
      const t0 = Date.now();
      while (Date.now() - t0 < ms) {
        const m = re.exec(out);
        if (m) return m[0];
        if (child.exitCode !== null) throw new Error(`${bin} exited (${child.exitCode}) before ${re}:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${re} from ${bin}:\n${out}`);
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Run a bin to completion (e.g. `ferry-agent enroll`). */
export function runBin(bin: 'ferry-hub' | 'ferry-agent', args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const p = startBin(bin, args, env);
  return new Promise((resolve) => p.child.once('exit', (code) => resolve({ code, output: p.output() })));
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 30_000, every = 200): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < ms) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
