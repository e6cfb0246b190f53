import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../../common/src/logger.ts';
import { loadConfig } from '../../../hub/src/config/config.ts';
import { createHub, type Hub } from '../../../hub/src/hub.ts';
import { buildPlan } from '../../../hub/src/migrate/planner/index.ts';
import type { Catalog, TableProfile } from '../../../common/src/catalog.ts';
import { readFileSync } from 'node:fs';

export interface MigHub {
  hub: Hub;
  dataDir: string;
  adminKey: string;
  /** The gRPC port when listening: a restarted hub reuses it, since the built-in agent dials the address it enrolled with. */
  grpcPort?: number;
  req(method: string, p: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string; message: string } } }>;
  /** Stop the hub, keeping its data directory (for restart tests). */
  stop(): Promise<void>;
}

/**
 * A real hub on `dataDir` (new temp dir unless given). Unlike test/helpers/test-hub.ts, `stop`
 * keeps the directory so a second hub can start on the same state (restart tests).
 */
export async function startHub(o: { dataDir?: string; listen?: boolean; builtin?: boolean; agentWaitMs?: number; now?: () => Date; grpcPort?: number } = {}): Promise<MigHub> {
  const dataDir = o.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'ferry-mig-'));
  const config = loadConfig({
    FERRY_DATA_DIR: dataDir,
    FERRY_HTTP_PORT: '0',
    FERRY_GRPC_PORT: String(o.grpcPort ?? 0),
    // Any free data port, also on a restart with the gRPC port pinned: its default there (gRPC
    // port + 1) may be another process's ephemeral port by then (EADDRINUSE in one CI run).
    // The built-in agent learns the data port from the hub.
    FERRY_DATA_PORT: '0',
    FERRY_BUILTIN_AGENT: o.builtin ? 'on' : 'off',
    FERRY_LOG_LEVEL: 'silent',
    FERRY_AGENT_TIMEOUT_SECONDS: '6',
  });
  const log = createLogger({ level: 'silent', name: 'mig-test' });
  const hub = await createHub(config, { log, builtinStdio: 'ignore', agentWaitMs: o.agentWaitMs ?? 60_000, now: o.now });
  let grpcPort: number | undefined;
  if (o.listen) grpcPort = (await hub.start()).grpcPort;
  const adminKey = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
  return {
    hub,
    dataDir,
    grpcPort,
    adminKey,
    async req(method, p, body) {
      const headers: Record<string, string> = { authorization: `Bearer ${adminKey}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const r = await hub.app.request(p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await r.text();
      return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    async stop() {
      await hub.stop().catch(() => undefined);
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Put a plan on a migration as the planning job would (no agent needed): the planning job is
 * cancelled first so it cannot race the injected plan.
 */
export function injectPlan(hub: Hub, id: string, catalog: Catalog, profiles: TableProfile[], autoApproveAbove = 0.9): { pending: number } {
  const { store, service } = hub.migrations;
  const job = service.latestJob(id, 'migration.plan');
  if (job && !['completed', 'failed', 'cancelled'].includes(job.status)) hub.engine.cancel(job.id, 'test injects the plan');
  const plan = buildPlan(catalog, profiles, { targetSchema: store.get(id).target.schema, autoApproveAbove });
  const pending = plan.mappings.filter((m) => m.status !== 'approved').length;
  store.replaceMappings(id, plan);
  store.update(id, { plan, catalog, plan_generated_at: new Date().toISOString(), status: pending ? 'plan_ready' : 'approved' });
  store.setPhase(id, 'planning', 'completed');
  return { pending };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined> | T | null | undefined, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
