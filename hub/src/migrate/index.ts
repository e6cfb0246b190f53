/**
 * The migrations module: store, lifecycle service, runners (plan, run, rollback, retry),
 * scheduler and views. `createMigrationsModule` wires it; hub.ts mounts the routes.
 */
import type { Db } from '../store/db.ts';
import type { MigrationDeps } from './context.ts';
import { planningRunner } from './planning.ts';
import { retryRunner } from './retry.ts';
import { rollbackRunner } from './rollback.ts';
import { runRunner } from './runner.ts';
import { MigrationScheduler } from './schedule.ts';
import { MigrationService } from './service.ts';
import { MigrationStore } from './store.ts';
import { JOB_KINDS } from './types.ts';
import { MigrationViews } from './views.ts';

export { migrationMigrations } from './migrations.ts';
export { MigrationStore } from './store.ts';
export { MigrationService } from './service.ts';
export { MigrationViews } from './views.ts';
export { MigrationScheduler, windowOpen, nextWindowStart, mayRun } from './schedule.ts';
export * from './types.ts';

export interface MigrationsModule {
  store: MigrationStore;
  service: MigrationService;
  views: MigrationViews;
  scheduler: MigrationScheduler;
  /** Call after the job engine's recover(): fixes statuses of interrupted migrations, starts the scheduler. */
  start(): void;
  stop(): void;
}

export function createMigrationsModule(
  d: Omit<MigrationDeps, 'store'> & { db: Db },
  o: { defaultAgentId: () => string | null; schedulerIntervalMs?: number },
): MigrationsModule {
  const { db, ...rest } = d;
  const store = new MigrationStore(db, d.now);
  const deps: MigrationDeps = { ...rest, store };
  const service = new MigrationService(deps, o.defaultAgentId);
  const views = new MigrationViews(store, d.connections, d.jobs, d.now);
  const scheduler = new MigrationScheduler({ waiting: () => service.waiting(), wake: (m) => service.wake(m) }, d.now, o.schedulerIntervalMs);
  d.engine.registerRunner(JOB_KINDS.plan, planningRunner(deps));
  d.engine.registerRunner(JOB_KINDS.run, runRunner(deps));
  d.engine.registerRunner(JOB_KINDS.rollback, rollbackRunner(deps));
  d.engine.registerRunner(JOB_KINDS.retry, retryRunner(deps));
  return {
    store,
    service,
    views,
    scheduler,
    start() {
      service.reconcile();
      scheduler.start();
    },
    stop() {
      scheduler.stop();
    },
  };
}
