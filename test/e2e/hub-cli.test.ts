import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runBin } from '../helpers/processes.ts';
import { startTestHub } from '../helpers/test-hub.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'ferry-cli-'));
  dirs.push(d);
  return d;
}

describe('ferry-hub command line', () => {
  it('set-password reads the password from stdin and the admin can log in with it', async () => {
    const dataDir = tmp();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/ferry-hub.js'), 'set-password'], {
      env: { ...process.env, FERRY_DATA_DIR: dataDir, FERRY_ADMIN_PASSWORD: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end('a long enough password\n');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code, out).toBe(0);
    expect(out).toContain('admin password set');
    expect(out).not.toContain('a long enough password');

    const t = await startTestHub({ env: { FERRY_DATA_DIR: dataDir } });
    try {
      const ok = await t.req('POST', '/api/v1/auth/login', { key: null, body: { email: 'admin', password: 'a long enough password' } });
      expect(ok.status).toBe(200);
    } finally {
      await t.hub.stop();
    }
  });

  it('refuses a short password and a bad setting with a clear message and a non-zero exit', async () => {
    const short = await runBin('ferry-hub', ['set-password'], { FERRY_DATA_DIR: tmp(), FERRY_ADMIN_PASSWORD: 'short' });
    expect(short.code).not.toBe(0);
    expect(short.output).toMatch(/FERRY_ADMIN_PASSWORD/);
    const badPort = await runBin('ferry-hub', [], { FERRY_DATA_DIR: tmp(), FERRY_HTTP_PORT: 'http' });
    expect(badPort.code).toBe(2);
    expect(badPort.output).toContain('FERRY_HTTP_PORT="http"');
    const unknown = await runBin('ferry-hub', ['frobnicate'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('unknown command');
  });
});
