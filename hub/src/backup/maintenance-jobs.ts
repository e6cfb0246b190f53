import { FerryError } from '../../../common/src/errors.ts';
import type { JobRunner } from '../jobs/engine.ts';
import type { BackupDeps } from './deps.ts';
import { isRepositoryError } from './repository/index.ts';
import { toFerryError } from './repositories.ts';
import { applyRetention, retentionIsEmpty, type Retention } from './retention.ts';

/** @default 1 hour: chunks younger than this are never collected, referenced or not. */
export const DEFAULT_GC_GRACE_SECONDS = 3600;

/**
 * `verify`: re-reads and re-hashes every chunk of one backup's snapshot. Missing or damaged
 * chunks fail the job with `verify_failed`, naming the backup and the snapshot.
 */
export function verifyJobRunner(d: BackupDeps): JobRunner {
  return async (ctx) => {
    const b = d.store.get(String(ctx.job.params.backup_id));
    if (!b.snapshot_id) throw new FerryError('backup_not_verifiable', `Backup ${b.id} has no snapshot (status ${b.status})`, { status: 409 });
    const repo = await d.repos.repo(b.repository_id);
    ctx.setPhase('verifying');
    let r;
    try {
      r = await repo.verifySnapshot(b.snapshot_id);
    } catch (e) {
      throw toFerryError(e);
    }
    const result = { backup_id: b.id, snapshot_id: r.snapshotId, checked_chunks: r.checked, missing: r.missing, damaged: r.damaged, ok: r.ok };
    ctx.progress({ percent: 100, counters: { chunks_checked: r.checked, chunks_missing: r.missing.length, chunks_damaged: r.damaged.length } });
    if (!r.ok) {
      ctx.log('error', `Snapshot ${r.snapshotId} of backup ${b.id}: ${r.missing.length} missing and ${r.damaged.length} damaged chunk(s)`, result);
      throw new FerryError('verify_failed', `Snapshot ${r.snapshotId} (backup ${b.id}) is damaged: ${r.missing.length} missing, ${r.damaged.length} damaged chunk(s), e.g. ${[...r.damaged, ...r.missing][0]}`, {
        status: 409,
        details: result,
      });
    }
    ctx.log('info', `Snapshot ${r.snapshotId} verified: ${r.checked} chunk(s) re-read and re-hashed`);
    return { status: 'completed', result };
  };
}

/**
 * `prune`: applies retention per chain in one repository and deletes the snapshots (and
 * backup rows) outside it. Retention comes from the job (`retention`) or, per chain, from the
 * policy that took its backups; chains without either are left alone.
 */
export function pruneJobRunner(d: BackupDeps, policyRetention: (policyId: string) => { retention: Retention; timezone: string } | null): JobRunner {
  return async (ctx) => {
    const repositoryId = String(ctx.job.params.repository_id);
    const given = ctx.job.params.retention as Retention | undefined;
    const tz = (ctx.job.params.timezone as string | undefined) ?? 'UTC';
    const repo = await d.repos.repo(repositoryId);
    ctx.setPhase('pruning');
    const removed: string[] = [];
    const kept: string[] = [];
    const keys = d.store.sourceKeys(repositoryId);
    const onlyKeys = ctx.job.params.source_keys as string[] | undefined;
    for (const [i, key] of keys.entries()) {
      if (onlyKeys && !onlyKeys.includes(key)) continue;
      const chain = d.store.chain(key, repositoryId);
      const policyId = chain.findLast((b) => b.policy_id)?.policy_id;
      const rule = given ? { retention: given, timezone: tz } : policyId ? policyRetention(policyId) : null;
      if (!rule || retentionIsEmpty(rule.retention)) {
        kept.push(...chain.map((b) => b.id));
        continue;
      }
      const decision = applyRetention(chain.map((b) => ({ id: b.id, created_at: b.created_at })), rule.retention, rule.timezone);
      for (const id of decision.remove) {
        const b = d.store.get(id);
        try {
          if (b.snapshot_id) await repo.deleteSnapshot(b.snapshot_id);
        } catch (e) {
          if (!isRepositoryError(e, 'snapshot_not_found')) throw toFerryError(e);
        }
        d.store.delete(id);
        removed.push(id);
      }
      kept.push(...decision.keep);
      ctx.progress({ percent: Math.floor(((i + 1) / keys.length) * 100), counters: { snapshots_removed: removed.length, snapshots_kept: kept.length } });
    }
    ctx.log('info', `Prune removed ${removed.length} snapshot(s), kept ${kept.length}`);
    return { status: 'completed', result: { repository_id: repositoryId, removed, kept } };
  };
}

/** `gc`: mark-and-sweep of unreferenced chunks older than the grace period. */
export function gcJobRunner(d: BackupDeps): JobRunner {
  return async (ctx) => {
    const repositoryId = String(ctx.job.params.repository_id);
    const graceSeconds = Number(ctx.job.params.grace_seconds ?? DEFAULT_GC_GRACE_SECONDS);
    const repo = await d.repos.repo(repositoryId);
    ctx.setPhase('collecting');
    const before = repo.stats();
    let r;
    try {
      r = await repo.gc({ graceMs: graceSeconds * 1000, now: d.now().getTime() });
    } catch (e) {
      throw toFerryError(e);
    }
    ctx.progress({ percent: 100, counters: { chunks_deleted: r.deletedChunks, bytes_freed: r.deletedBytes } });
    ctx.log('info', `GC deleted ${r.deletedChunks} chunk(s), ${r.deletedBytes} bytes; kept ${r.keptByGrace} by grace, ${r.keptByPending} by pending backups`);
    return { status: 'completed', result: { repository_id: repositoryId, ...r, stored_bytes_before: before.storedBytes, stored_bytes_after: repo.stats().storedBytes } };
  };
}
