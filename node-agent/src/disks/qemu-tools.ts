import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FerryError } from '../../../common/src/errors.ts';

/**
 * The qemu command-line tools a qcow2 source needs (Debian package `qemu-utils`): `qemu-img`
 * for metadata and bitmaps, `qemu-nbd` to serve the guest-visible data.
 */

export interface Qcow2Bitmap {
  name: string;
  granularity: number;
  /** "auto" = enabled (records writes), "in-use" = left open by a crashed writer (untrustworthy). */
  flags: string[];
}

export interface Qcow2Info {
  format: string;
  virtualSize: number;
  clusterSize: number;
  /** Absolute path of the backing file, when there is one. */
  backingFile: string | null;
  /** External data file (qcow2 `data-file`), when there is one. */
  dataFile: string | null;
  /** Encrypted clusters (qcow2 LUKS or the legacy AES): only qemu can read them. */
  encrypted: boolean;
  bitmaps: Qcow2Bitmap[];
}

function toolMissing(tool: string, cause: unknown): FerryError {
  return new FerryError('tool_missing', `${tool} is not installed on the agent; install the Debian package qemu-utils (apt-get install qemu-utils)`, { status: 501, cause });
}

export function run(tool: string, args: string[], timeoutMs = 60_000, maxBuffer = 16 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { maxBuffer, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(toolMissing(tool, err));
      const msg = String(stderr || err.message).trim().split('\n').slice(-3).join(' ');
      const locked = /lock|in use/i.test(msg);
      reject(
        new FerryError(locked ? 'disk_in_use' : 'qemu_tool_failed', `${tool} ${args[0]} failed: ${msg}${locked ? ' (the image is open by a running VM; back up offline images or a snapshot)' : ''}`, {
          status: locked ? 409 : 500,
          retryable: locked,
          cause: err,
        }),
      );
    });
  });
}

export async function qcow2Info(file: string): Promise<Qcow2Info> {
  const j = JSON.parse(await run('qemu-img', ['info', '--output=json', file])) as Record<string, unknown>;
  const specific = ((j['format-specific'] as { data?: Record<string, unknown> } | undefined)?.data ?? {}) as Record<string, unknown>;
  const bitmaps = (Array.isArray(specific.bitmaps) ? specific.bitmaps : []) as { name: string; granularity: number; flags?: string[] }[];
  const backing = (j['full-backing-filename'] ?? j['backing-filename'] ?? null) as string | null;
  const dataFile = (specific['data-file'] ?? null) as string | null;
  return {
    format: String(j.format),
    virtualSize: Number(j['virtual-size']),
    clusterSize: Number(j['cluster-size'] ?? 65536),
    backingFile: backing ? path.resolve(path.dirname(file), backing) : null,
    dataFile: dataFile ? path.resolve(path.dirname(file), dataFile) : null,
    encrypted: j.encrypted === true || specific.encrypt !== undefined,
    bitmaps: bitmaps.map((b) => ({ name: b.name, granularity: b.granularity, flags: b.flags ?? [] })),
  };
}

/**
 * `qemu-img map --output=json` of a qcow2 image: where each guest range lies (see qcow2-map.ts).
 * Run while qemu-nbd serves the image read-only: its lock keeps writers out, and a read-only
 * open like this one shares it. The list has one entry per run of contiguous clusters.
 */
export async function qcow2MapJson(file: string): Promise<string> {
  return run('qemu-img', ['map', '--output=json', '-f', 'qcow2', file], 120_000, 256 * 1024 * 1024);
}

/** One `qemu-img bitmap` operation on a (closed) qcow2 image. */
export async function bitmapOp(file: string, op: '--add' | '--remove' | '--enable' | '--disable' | '--clear', name: string, opts: { granularity?: number } = {}): Promise<void> {
  await run('qemu-img', ['bitmap', op, ...(opts.granularity ? ['-g', String(opts.granularity)] : []), '-f', 'qcow2', file, name]);
}

export interface NbdServer {
  socketPath: string;
  /** Process id of qemu-nbd (benchmarks read its CPU time from /proc). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Serves `file` (read-only unless `writable`) on a private unix socket; `bitmap` is exported as the meta context
 * `qemu:dirty-bitmap:<bitmap>`. Resolves once the socket accepts connections.
 */
export async function startQemuNbd(file: string, opts: { bitmap?: string; format?: string; timeoutMs?: number; /** Tests and benchmarks only. */ writable?: boolean } = {}): Promise<NbdServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-nbd-'));
  const socketPath = path.join(dir, 'nbd.sock');
  const args = [...(opts.writable ? [] : ['--read-only']), '--persistent', '--shared=4', `--format=${opts.format ?? 'qcow2'}`, `--socket=${socketPath}`, ...(opts.bitmap ? ['-B', opts.bitmap] : []), file];
  const child: ChildProcess = spawn('qemu-nbd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  let exited: { code: number | null } | null = null;
  const exit = new Promise<void>((resolve) => child.once('exit', (code) => ((exited = { code }), resolve())));
  const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? toolMissing('qemu-nbd', e) : e)));
  spawnError.catch(() => undefined);
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    }
    await fs.rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  try {
    for (;;) {
      if (exited) {
        const msg = stderr.trim();
        const locked = /lock|in use/i.test(msg);
        throw new FerryError(locked ? 'disk_in_use' : 'qemu_tool_failed', `qemu-nbd could not serve ${file}: ${msg || `exit ${(exited as { code: number | null }).code}`}`, { status: locked ? 409 : 500, retryable: locked });
      }
      if (await canConnect(socketPath)) return { socketPath, pid: child.pid, stop };
      if (Date.now() > deadline) throw new FerryError('qemu_tool_failed', `qemu-nbd did not open ${socketPath} within ${opts.timeoutMs ?? 15_000} ms`, { status: 500, retryable: true });
      await Promise.race([new Promise((r) => setTimeout(r, 5)), spawnError]);
    }
  } catch (e) {
    await stop();
    throw e;
  }
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
