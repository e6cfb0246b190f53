import type { Logger } from '../../../common/src/logger.ts';
import type { JobEngine, JobRunner } from '../jobs/engine.ts';
import type { Job } from '../jobs/types.ts';
import { BACKUP_JOB_KINDS } from './deps.ts';
import type { PolicyStore } from './policies.ts';
import type { Retention } from './retention.ts';
import { waitJob, type BackupService } from './service.ts';
import type { BackupStore } from './store.ts';

export interface SchedulerDeps {
  policies: PolicyStore;
  service: BackupService;
  engine: JobEngine;
  store: BackupStore;
  log: Logger;
  /** Injected clock: tests move time instead of sleeping. */
  now: () => Date;
  /** @default 30000 */
  intervalMs?: number;
  startPrune(repositoryId: string, body: Retention & { timezone?: string }, extra?: Record<string, unknown>): Job;
}

/**
 * Triggers due policies. `tick()` is the whole behaviour (tests call it with a moved clock);
 * `start()` only calls it on an interval. A policy run is a job of its own
 * (`backup_policy_run`): it backs up every target, waits for them, then prunes the targets'
 * chains by the policy's retention.
 */
export class BackupScheduler {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly d: SchedulerDeps) {
    d.engine.registerRunner(BACKUP_JOB_KINDS.policyRun, this.runner());
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.d.intervalMs ?? 30_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Starts a run for every enabled policy whose next_run_at has come; returns the jobs. */
  tick(): Job[] {
    const at = this.d.now();
    const started: Job[] = [];
    for (const p of this.d.policies.due(at)) {
      this.d.policies.markRun(p.id, at);
      try {
        started.push(this.runNow(p.id, 'schedule'));
      } catch (e) {
        this.d.log.warn({ err: e, policy_id: p.id }, 'scheduled backup policy could not start');
      }
    }
    return started;
  }

  runNow(policyId: string, trigger: 'schedule' | 'manual'): Job {
    this.d.policies.get(policyId);
    const job = this.d.engine.create({ kind: BACKUP_JOB_KINDS.policyRun, resource_type: 'backup_policy', resource_id: policyId, params: { policy_id: policyId, trigger } });
    return this.d.engine.start(job.id);
  }

  private runner(): JobRunner {
    return async (ctx) => {
      const p = this.d.policies.get(String(ctx.job.params.policy_id));
      ctx.setPhase('backing_up');
      const outcomes: { target: unknown; backup_ids: string[]; job_id: string | null; status: string; error?: string }[] = [];
      const keys = new Set<string>();
      // One target at a time: on a 2-core appliance parallel backups only compete for CPU.
      for (const target of p.targets) {
        try {
          const { job, backups } = this.d.service.create({ source: target, type: p.backup_type, repository_id: p.repository_id, policy_id: p.id });
          for (const b of backups) keys.add(b.source_key);
          const end = await waitJob(this.d.engine, job.id, 24 * 3600_000);
          outcomes.push({ target, backup_ids: backups.map((b) => b.id), job_id: job.id, status: end?.status ?? 'timeout', ...(end?.error ? { error: end.error.message } : {}) });
        } catch (e) {
          outcomes.push({ target, backup_ids: [], job_id: null, status: 'failed', error: (e as Error).message });
        }
        ctx.progress({ percent: Math.floor((outcomes.length / Math.max(1, p.targets.length)) * 90) });
      }
      ctx.setPhase('pruning');
      const prune = this.d.startPrune(p.repository_id, { ...p.retention, timezone: p.timezone }, { source_keys: [...keys], policy_id: p.id });
      const pruned = await waitJob(this.d.engine, prune.id, 3600_000);
      const failed = outcomes.filter((o) => o.status !== 'completed').length;
      ctx.log(failed ? 'warning' : 'info', `Policy ${p.name}: ${outcomes.length - failed} of ${outcomes.length} target(s) backed up; prune ${pruned?.status ?? 'timeout'}`);
      return { status: 'completed', result: { policy_id: p.id, targets: outcomes, prune_job_id: prune.id, prune: pruned?.result ?? null } };
    };
  }
}
