import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/src/logger.ts';
import { loadConfig } from '../../../hub/src/config/config.ts';
import { createHub, type Hub } from '../../../hub/src/hub.ts';

describe('backup policy scheduler', () => {
  let hub: Hub | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await hub?.stop().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts a run when the clock passes next_run_at in the policy time zone, once, then moves to the next day', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-sched-'));
    let clock = new Date('2026-03-10T12:00:00Z');
    const config = loadConfig({ FERRY_DATA_DIR: dir, FERRY_HTTP_PORT: '0', FERRY_GRPC_PORT: '0', FERRY_BUILTIN_AGENT: 'off', FERRY_LOG_LEVEL: 'silent' });
    hub = await createHub(config, { log: createLogger({ level: 'silent', name: 't' }), now: () => clock });
    const key = readFileSync(path.join(dir, 'admin.key'), 'utf8').trim();
    const req = (method: string, p: string, body?: unknown) =>
      Promise.resolve(hub!.app.request(p, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }));

    const r = await req('POST', '/api/v1/backup-policies', {
      name: 'nightly',
      schedule: '30 2 * * *',
      timezone: 'America/New_York',
      targets: [{ agent_id: 'agt_missing', path: '/nowhere.img' }],
      retention: { keep_last: 3 },
    });
    expect(r.status).toBe(201);
    const pol = (await r.json()) as { id: string; next_run_at: string };
    // 02:30 in New York (EDT from 8 March 2026) is 06:30 UTC on the next day.
    expect(pol.next_run_at).toBe('2026-03-11T06:30:00.000Z');

    clock = new Date('2026-03-11T06:29:59Z');
    expect(hub.backup.scheduler.tick()).toHaveLength(0);
    clock = new Date('2026-03-11T06:30:00Z');
    const started = hub.backup.scheduler.tick();
    expect(started.map((j) => j.kind)).toEqual(['backup_policy_run']);
    expect(hub.backup.scheduler.tick()).toHaveLength(0);
    expect(hub.backup.policies.get(pol.id)).toMatchObject({ last_run_at: '2026-03-11T06:30:00.000Z', next_run_at: '2026-03-12T06:30:00.000Z' });

    const bad = await req('POST', '/api/v1/backup-policies', { name: 'x', schedule: 'every day', targets: [{ vm_id: 'v' }] });
    expect(bad.status).toBe(422);
    const badTz = await req('POST', '/api/v1/backup-policies', { name: 'x', schedule: '0 1 * * *', timezone: 'Mars/Olympus', targets: [{ vm_id: 'v' }] });
    expect(badTz.status).toBe(422);
  });
});
