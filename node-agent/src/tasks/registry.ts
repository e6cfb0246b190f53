import { FerryError } from '../../../common/src/errors.ts';
import { backupTasks } from './backup-index.ts';
import { MIGRATE_TASK_HANDLERS } from './migrate-index.ts';
import { VALIDATE_TASKS } from './validate-index.ts';
import type { TaskHandler } from './types.ts';

/**
 * Task handlers by kind. Each task kind lives in its own file under tasks/ and is registered
 * here (or by its module at start-up with `registerTask`). The session looks a kind up when the
 * hub assigns a task; an unknown kind is answered with error code `unknown_task_kind`.
 */
const handlers = new Map<string, TaskHandler>();

export function registerTask(kind: string, handler: TaskHandler): void {
  if (handlers.has(kind)) throw new Error(`task kind ${kind} is already registered`);
  handlers.set(kind, handler);
}

export function getTask(kind: string): TaskHandler | undefined {
  return handlers.get(kind);
}

export function taskKinds(): string[] {
  return [...handlers.keys()].sort();
}

/** `echo`: returns its payload; logs and reports progress once. For tests and smoke checks. */
const echo: TaskHandler = async (payload, ctx) => {
  ctx.log('info', 'echo', { payload_type: typeof payload });
  ctx.progress({ percent: 100, phase: 'echo' });
  return payload;
};

/**
 * `sleep`: `{ ms, steps? }` waits `ms` in `steps` slices, reporting progress after each; honours
 * cancellation. For tests of cancel, revoke and shutdown with a task in flight.
 */
const sleepTask: TaskHandler = async (payload, ctx) => {
  const p = (payload ?? {}) as { ms?: number; steps?: number };
  const ms = Math.max(0, Math.min(Number(p.ms ?? 1000), 3_600_000));
  const steps = Math.max(1, Math.min(Number(p.steps ?? 10), 1000));
  for (let i = 1; i <= steps; i++) {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms / steps);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          reject(new FerryError('cancelled', `sleep cancelled: ${String(ctx.signal.reason ?? 'cancelled')}`, { retryable: true }));
        },
        { once: true },
      );
      if (ctx.signal.aborted) {
        clearTimeout(t);
        reject(new FerryError('cancelled', `sleep cancelled: ${String(ctx.signal.reason ?? 'cancelled')}`, { retryable: true }));
      }
    });
    ctx.progress({ percent: Math.round((i / steps) * 100), counters: { steps_done: i } });
  }
  return { slept_ms: ms };
};

registerTask('echo', echo);
registerTask('sleep', sleepTask);
// Loaded on first use: the database drivers behind it are heavy and most starts never need them.
registerTask('connection.test', async (payload, ctx) => (await import('./connection-test.ts')).connectionTest(payload, ctx));

// Backup module: backup.disk, restore.disk, backup.database, restore.database, inventory.scan.
for (const [kind, handler] of Object.entries(backupTasks)) registerTask(kind, handler);

// Migration data path: migrate.introspect, exec_sql, plan_units, read_unit, load_unit, count_rows.
for (const [kind, handler] of Object.entries(MIGRATE_TASK_HANDLERS)) registerTask(kind, handler);

// Validation: validate.catalog, statistical, key_bounds, semantic_buckets, semantic_rows, referential, behavioral.
for (const [kind, handler] of Object.entries(VALIDATE_TASKS)) registerTask(kind, handler);
