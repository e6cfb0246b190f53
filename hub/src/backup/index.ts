import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from '../../../common/src/logger.ts';
import type { AgentsModule } from '../agents/index.ts';
import type { ApiEnv } from '../api/env.ts';
import type { ConnectionStore } from '../connections/store.ts';
import type { JobEngine } from '../jobs/engine.ts';
import type { JobStore } from '../jobs/store.ts';
import type { Job } from '../jobs/types.ts';
import { applyMigrations, type Db } from '../store/db.ts';
import { backupJobRunner } from './backup-job.ts';
import { BACKUP_JOB_KINDS, BACKUP_TASKS, type BackupDeps } from './deps.ts';
import { ActiveBackups } from './ingest.ts';
import { InventoryStore, type AgentInventory } from './inventory.ts';
import { gcJobRunner, pruneJobRunner, verifyJobRunner } from './maintenance-jobs.ts';
import { backupMigrations } from './migrations.ts';
import { PolicyStore } from './policies.ts';
import { BackupScheduler } from './scheduler.ts';
import { RepositoryRegistry } from './repositories.ts';
import { restoreJobRunner } from './restore-job.ts';
import type { Retention } from './retention.ts';
import { BackupService } from './service.ts';
import { BackupStore } from './store.ts';
import { BACKUP_CALLS } from '../../../node-agent/src/tasks/backup-wire.ts';
import { repositoryRoutes } from '../api/routes/repositories.ts';
import { backupRoutes } from '../api/routes/backups.ts';
import { vmRoutes } from '../api/routes/vms.ts';
import { backupPolicyRoutes } from '../api/routes/backup-policies.ts';

export { BACKUP_JOB_KINDS, BACKUP_TASKS } from './deps.ts';
export { applyRetention, type Retention, type RetentionDecision } from './retention.ts';

export interface BackupModuleDeps {
  db: Db;
  engine: JobEngine;
  jobs: JobStore;
  agents: AgentsModule;
  connections: ConnectionStore;
  log: Logger;
  /** Folder of the default repository, created at first start. */
  defaultRepositoryPath: string;
  now?: () => Date;
  /** Scheduler tick. @default 30000 */
  schedulerIntervalMs?: number;
}

export interface BackupModule {
  repos: RepositoryRegistry;
  store: BackupStore;
  inventory: InventoryStore;
  policies: PolicyStore;
  service: BackupService;
  scheduler: BackupScheduler;
  startPrune(repositoryId: string, body: Retention & { timezone?: string }): Job;
  startGc(repositoryId: string, graceSeconds?: number): Job;
  /** Jobs of the backup kinds, newest first; `policy_id` limits to one policy's runs and the backups they started. */
  listJobs(f: { kind?: string; policy_id?: string }, limit: number, offset: number): { rows: Job[]; total: number };
  /** Rescan every online agent's inventory (waits for the scans). */
  scanOnline(): Promise<void>;
  routes(app: OpenAPIHono<ApiEnv>): void;
  /** Start the scheduler. */
  start(): void;
  stop(): void;
}

/**
 * The backup module: repositories, backups, restores, verify, prune/GC, policies with their
 * scheduler, and the agent inventory (disks, libvirt VMs). Registers its job runners on the
 * engine and its Call handler on the agents module.
 */
export async function createBackupModule(d: BackupModuleDeps): Promise<BackupModule> {
  const now = d.now ?? (() => new Date());
  applyMigrations(d.db, [backupMigrations]);
  const repos = new RepositoryRegistry(d.db, { now });
  await repos.ensureDefault(d.defaultRepositoryPath);
  const store = new BackupStore(d.db, now);
  const inventory = new InventoryStore(d.db, now);
  const policies = new PolicyStore(d.db, now);
  const active = new ActiveBackups();
  const deps: BackupDeps = { store, repos, relay: d.agents.relay, active, connections: d.connections, inventory, log: d.log, now, builtinAgentId: () => d.agents.builtin.agentId };
  const service = new BackupService(deps, d.engine, d.agents.registry);

  d.engine.registerRunner(BACKUP_JOB_KINDS.backup, backupJobRunner(deps));
  d.engine.registerRunner(BACKUP_JOB_KINDS.restore, restoreJobRunner(deps));
  d.engine.registerRunner(BACKUP_JOB_KINDS.verify, verifyJobRunner(deps));
  d.engine.registerRunner(BACKUP_JOB_KINDS.gc, gcJobRunner(deps));
  d.engine.registerRunner(
    BACKUP_JOB_KINDS.prune,
    pruneJobRunner(deps, (id) => {
      const p = policies.find(id);
      return p ? { retention: p.retention, timezone: p.timezone } : null;
    }),
  );
  d.engine.registerRunner('inventory_scan', async (ctx) => {
    const agentId = String(ctx.job.agent_id);
    const inv = (await ctx.runTask(agentId, BACKUP_TASKS.inventory, {}, { maxAttempts: 1, agentWaitMs: 15_000 })) as AgentInventory;
    inventory.record(agentId, inv);
    return { status: 'completed', result: inv };
  });
  d.agents.registerCall(BACKUP_CALLS.hasChunks, (agentId, payload) => active.hasChunks(agentId, payload));

  const startPrune = (repositoryId: string, body: Retention & { timezone?: string }, extra: Record<string, unknown> = {}): Job => {
    const { timezone, ...retention } = body;
    const hasRule = Object.values(retention).some((v) => v !== undefined);
    const job = d.engine.create({
      kind: BACKUP_JOB_KINDS.prune,
      resource_type: 'repository',
      resource_id: repositoryId,
      params: { repository_id: repositoryId, ...(hasRule ? { retention } : {}), ...(timezone ? { timezone } : {}), ...extra },
    });
    return d.engine.start(job.id);
  };
  const startGc = (repositoryId: string, graceSeconds?: number): Job => {
    const job = d.engine.create({ kind: BACKUP_JOB_KINDS.gc, resource_type: 'repository', resource_id: repositoryId, params: { repository_id: repositoryId, grace_seconds: graceSeconds } });
    return d.engine.start(job.id);
  };

  const scheduler = new BackupScheduler({ policies, service, engine: d.engine, store, log: d.log, now, intervalMs: d.schedulerIntervalMs, startPrune });

  // A fresh inventory whenever an agent (re)connects; failures only leave the last one in place.
  const onOnline = (agentId: string) => void service.scan(agentId).catch(() => undefined);
  d.agents.sessions.on('online', onOnline);

  const m: BackupModule = {
    repos,
    store,
    inventory,
    policies,
    service,
    scheduler,
    startPrune: (id, body) => startPrune(id, body),
    startGc,
    listJobs(f, limit, offset) {
      const kinds = f.kind ? [f.kind] : Object.values(BACKUP_JOB_KINDS);
      const where = [`kind IN (${kinds.map(() => '?').join(', ')})`];
      const args: unknown[] = [...kinds];
      if (f.policy_id) {
        where.push(`(json_extract(params, '$.policy_id') = ?)`);
        args.push(f.policy_id);
      }
      const w = where.join(' AND ');
      const ids = d.db.prepare(`SELECT id FROM jobs WHERE ${w} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`).all(...args, limit, offset) as { id: string }[];
      const { n } = d.db.prepare(`SELECT COUNT(*) n FROM jobs WHERE ${w}`).get(...args) as { n: number };
      return { rows: ids.map((r) => d.jobs.get(r.id)), total: n };
    },
    async scanOnline() {
      await Promise.all(d.agents.sessions.onlineAgentIds().map((id) => service.scan(id)));
    },
    routes(app) {
      repositoryRoutes(app, m);
      backupRoutes(app, m);
      vmRoutes(app, m);
      backupPolicyRoutes(app, m);
    },
    start: () => scheduler.start(),
    stop: () => {
      scheduler.stop();
      d.agents.sessions.off('online', onOnline);
    },
  };
  return m;
}
