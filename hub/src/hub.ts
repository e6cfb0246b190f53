import { serve, type ServerType } from '@hono/node-server';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../common/src/logger.ts';
import { tuneHeapGrowth } from '../../common/src/runtime/heap-growth.ts';
import { createAgentsModule, type AgentsModule } from './agents/index.ts';
import { createApp, type App } from './api/app.ts';
import { idempotencyMigrations } from './api/middleware/idempotency.ts';
import { apiKeyRoutes } from './api/routes/api-keys.ts';
import { authRoutes } from './api/routes/auth.ts';
import { connectionRoutes } from './api/routes/connections.ts';
import { healthRoutes } from './api/routes/health.ts';
import { jobRoutes } from './api/routes/jobs.ts';
import { createBackupModule, type BackupModule } from './backup/index.ts';
import { notImplementedRoutes } from './api/routes/not-implemented.ts';
import { ApiKeyStore } from './auth/api-keys.ts';
import { authMigrations } from './auth/migrations.ts';
import { TokenService } from './auth/tokens.ts';
import { UserStore } from './auth/users.ts';
import { ensureAdminKey, hubId, settingsMigrations } from './bootstrap/admin-key.ts';
import type { HubConfig } from './config/config.ts';
import { connectionMigrations } from './connections/migrations.ts';
import { ConnectionStore } from './connections/store.ts';
import { CONNECTION_TEST, connectionTestRunner } from './connections/test-runner.ts';
import { SecretBox } from './identity/secret-box.ts';
import { loadOrCreateSigningKey, type SigningKey } from './identity/signing-key.ts';
import { JobEngine } from './jobs/engine.ts';
import { jobMigrations } from './jobs/migrations.ts';
import { JobStore } from './jobs/store.ts';
import { HubMetrics } from './metrics/metrics.ts';
import { createMigrationsModule, migrationMigrations, type MigrationsModule } from './migrate/index.ts';
import { migrationRoutes } from './api/routes/migrations.ts';
import { applyMigrations, openDb, type Db } from './store/db.ts';
import { validationRoutes } from './api/routes/validations.ts';
import { createValidationModule, VALIDATION_JOB } from './validate/module.ts';
import { validationMigrations } from './validate/store.ts';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface Hub {
  config: HubConfig;
  db: Db;
  app: App;
  engine: JobEngine;
  jobs: JobStore;
  agents: AgentsModule;
  backup: BackupModule;
  keys: ApiKeyStore;
  users: UserStore;
  connections: ConnectionStore;
  migrations: MigrationsModule;
  signingKey: SigningKey;
  hubId: string;
  adminKeyFile: string;
  repositoryPath: string;
  /** Bind HTTP and gRPC, start the built-in agent, resume interrupted jobs. */
  start(): Promise<{ httpPort: number; grpcPort: number; dataPort: number | null }>;
  stop(): Promise<void>;
}

export interface HubOptions {
  log: Logger;
  now?: () => Date;
  /** Built-in agent output (tests use 'ignore'). */
  builtinStdio?: 'inherit' | 'ignore' | 'pipe';
  /** How long tasks wait for an offline agent before failing. @default 10 minutes */
  agentWaitMs?: number;
}

/**
 * Build the whole hub from a validated config: state database (migrated), keys, stores, the
 * job engine, the agents module and the REST app. Nothing listens until `start()`.
 */
export async function createHub(config: HubConfig, o: HubOptions): Promise<Hub> {
  const { log } = o;
  tuneHeapGrowth();
  mkdirSync(config.dataDir, { recursive: true, mode: 0o750 });
  const keysDir = path.join(config.dataDir, 'keys');
  const repositoryPath = path.join(config.dataDir, 'repository');
  mkdirSync(repositoryPath, { recursive: true });

  const db = openDb(path.join(config.dataDir, 'ferry.db'));
  applyMigrations(db, [settingsMigrations, authMigrations, idempotencyMigrations, jobMigrations, connectionMigrations]);
  const id = hubId(db);
  const signingKey = await loadOrCreateSigningKey(keysDir);
  const box = SecretBox.loadOrCreate(keysDir);

  const keys = new ApiKeyStore(db);
  const users = new UserStore(db);
  users.ensureAdmin();
  if (config.FERRY_ADMIN_PASSWORD && !users.hasPassword('admin')) await users.setPassword('admin', config.FERRY_ADMIN_PASSWORD);
  const tokens = new TokenService(db, signingKey, users, { issuer: `ferry:${id}` });
  const admin = ensureAdminKey(db, keys, config.dataDir);

  const agents = await createAgentsModule({ db, config, log, builtin: o.builtinStdio ? { stdio: o.builtinStdio } : undefined });
  const jobs = new JobStore(db);
  const engine = new JobEngine({ store: jobs, channel: agents.sessions, log, agentWaitMs: o.agentWaitMs });
  const connections = new ConnectionStore(db, box);
  engine.registerRunner(CONNECTION_TEST, connectionTestRunner(connections, { agentWaitMs: 15_000 }));

  // ---- migrations (issue 3): own tables, runners, routes; started after engine.recover() ----
  applyMigrations(db, [migrationMigrations]);
  const defaultAgentId = () => agents.builtin.agentId ?? agents.registry.builtinAgent()?.id ?? null;
  const migrations = createMigrationsModule(
    {
      db,
      connections,
      engine,
      jobs,
      relay: agents.relay,
      log: log.child({ component: 'migrations' }),
      now: o.now ?? (() => new Date()),
      agentWaitMs: o.agentWaitMs,
      // Bound late: the validation module is built below, after the routes it shares.
      certify: async (ctx, migrationId, kinds) => {
        const m = migrations.store.get(migrationId);
        const r = await validation.runInJob(ctx, {
          migration_id: migrationId,
          source_connection_id: m.source.connection_id,
          target_connection_id: m.target.connection_id,
          tables: null,
          // The migration's own workload; none: captured from the source when it can be.
          workload: m.options.behavioral_workload?.length ? m.options.behavioral_workload.map((q) => ({ name: q.name, sql: q.sql, source: 'migration' as const })) : null,
          kinds,
        });
        return { id: r.id, outcome: r.outcome };
      },
    },
    { defaultAgentId },
  );
  // ---- end migrations ----

  const metrics = new HubMetrics({
    agentsOnline: () => agents.onlineCount(),
    agentData: () => agents.relay.transport,
    jobsByStatus: () =>
      Object.fromEntries((db.prepare('SELECT status, COUNT(*) n FROM jobs GROUP BY status').all() as { status: string; n: number }[]).map((r) => [r.status, r.n])),
  });
  const app = createApp({
    db,
    log,
    keys,
    tokens,
    metrics,
    version: VERSION,
    rateLimitPerMinute: config.FERRY_RATE_LIMIT_PER_MINUTE,
    maxBodyBytes: config.FERRY_MAX_BODY_BYTES,
  });
  const startedAt = Date.now();
  healthRoutes(app, {
    db,
    version: VERSION,
    startedAt,
    repositoryPath,
    metrics,
    agents: () => ({
      online: agents.onlineCount(),
      total: (db.prepare(`SELECT COUNT(*) n FROM agents WHERE status != 'revoked'`).get() as { n: number }).n,
    }),
  });
  authRoutes(app, { users, tokens });
  apiKeyRoutes(app, { keys });
  agents.routes(app);
  jobRoutes(app, { engine, store: jobs });
  connectionRoutes(app, {
    connections,
    engine,
    jobs,
    defaultAgentId: () => agents.builtin.agentId ?? agents.registry.builtinAgent()?.id ?? null,
    agentExists: (aid) => {
      const r = agents.registry.row(aid);
      return !!r && r.status !== 'revoked';
    },
  });

  migrationRoutes(app, { migrations, engine, jobs });

  // ---- validation (issue 6): own tables, the validation.run runner, routes, certificates ----
  applyMigrations(db, [validationMigrations]);
  const validation = createValidationModule({ db, engine, connections, signingKey, hubId: id, now: o.now });
  engine.registerRunner(VALIDATION_JOB, validation.jobRunner);
  validationRoutes(app, { validation, signingKey });
  // ---- end validation ----

  // Backup module (repositories, backups, policies, inventory): its tables, runners, Call handler and routes.
  const backup = await createBackupModule({ db, engine, jobs, agents, connections, log, defaultRepositoryPath: repositoryPath, now: o.now });
  backup.routes(app);

  // Mounted last: resources promised by the seeds but not built yet answer 501.
  notImplementedRoutes(app);

  let http: ServerType | undefined;
  return {
    config,
    db,
    app,
    engine,
    jobs,
    agents,
    backup,
    keys,
    users,
    connections,
    migrations,
    signingKey,
    hubId: id,
    adminKeyFile: admin.file,
    repositoryPath,
    async start() {
      const { grpcPort, dataPort } = await agents.start();
      const httpPort = await new Promise<number>((resolve, reject) => {
        const s = serve({ fetch: app.fetch, hostname: config.FERRY_HTTP_HOST, port: config.FERRY_HTTP_PORT }, (info) => resolve(info.port));
        s.once('error', reject);
        http = s;
      });
      engine.recover();
      migrations.start();
      backup.start();
      return { httpPort, grpcPort, dataPort };
    },
    async stop() {
      const step = (what: string) => log.debug({ step: what }, 'stopping');
      migrations.stop();
      step('http');
      await new Promise<void>((resolve) => {
        if (!http) return resolve();
        http.close(() => resolve());
        (http as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      step('backup');
      backup.stop();
      step('agents');
      await agents.stop();
      step('db');
      db.close();
      step('done');
    },
  };
}
