import { createHash } from 'node:crypto';

/**
 * When an incremental with changed-block tracking audits, and how much. CBT can drift (missed
 * writes), so a sample of the chunks it calls unchanged is re-read and compared with the
 * parent's digests; a mismatch makes that backup re-read the whole disk (see
 * node-agent/src/disks/audit.ts).
 */
export interface AuditPolicy {
  /** Audit every Nth backup of a chain (counting completed backups before this one). @default 1 */
  every: number;
  /** Percent of the unchanged chunks sampled. @default 1 */
  samplePercent: number;
}

export const AUDIT_DEFAULTS: AuditPolicy = { every: 1, samplePercent: 1 };

/**
 * The sample percent for this backup: the request's value when given, else the policy's on
 * every Nth backup of the chain and 0 otherwise.
 * @example auditPercent(undefined, 3, { every: 2, samplePercent: 1 }) // 0
 */
export function auditPercent(requested: number | undefined, completedBefore: number, policy: AuditPolicy = AUDIT_DEFAULTS): number {
  if (requested !== undefined) return Math.max(0, Math.min(100, requested));
  return policy.every > 0 && completedBefore % policy.every === 0 ? policy.samplePercent : 0;
}

/**
 * Change-tracking chain id of a source in a repository: bitmaps carry it, so two repositories
 * backing up one image keep separate bitmaps and never remove each other's.
 */
export function changeTrackingChain(repositoryId: string, sourceKey: string): string {
  return createHash('sha256').update(`${repositoryId}\0${sourceKey}`).digest('hex').slice(0, 12);
}
