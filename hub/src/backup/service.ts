import { FerryError, notFound } from '../../../common/src/errors.ts';
import { pathAllowed } from '../../../node-agent/src/disks/path-policy.ts';
import { agentView, type AgentRegistry } from '../agents/registry.ts';
import type { JobEngine } from '../jobs/engine.ts';
import type { Job } from '../jobs/types.ts';
import { BACKUP_JOB_KINDS, BACKUP_TASKS, type BackupDeps } from './deps.ts';
import type { AgentInventory } from './inventory.ts';
import { sourceKey, type Backup } from './store.ts';

/** Disk image formats the agents read (qcow2 through qemu-nbd). */
const DISK_FORMATS = new Set(['raw', 'qcow2']);

export type BackupSource = { agent_id: string; path: string } | { vm_id: string } | { connection_id: string };

export interface CreateBackupInput {
  source: BackupSource;
  type: 'full' | 'incremental';
  repository_id?: string;
  policy_id?: string | null;
  /** Database backups: `custom` (pg_dump -Fc, default) or `plain`. */
  format?: 'custom' | 'plain';
  /**
   * Disks with changed-block tracking: percent of the chunks the tracking calls unchanged that
   * this backup re-reads and compares (0 = no audit). @default AUDIT_DEFAULTS (audit-policy.ts)
   */
  audit_sample_percent?: number;
}

export interface ChainView {
  source_key: string;
  repository_id: string | null;
  backups: (Backup & { bytes_added: number })[];
  total_size_bytes: number;
  total_bytes_added: number;
}

/**
 * What the REST routes and the scheduler call: it validates sources against what the agent
 * reported (a 4xx before any job starts), creates backup rows and starts their jobs.
 */
export class BackupService {
  constructor(
    private readonly d: BackupDeps,
    private readonly engine: JobEngine,
    private readonly agents: AgentRegistry,
  ) {}

  /** Path lists an agent reported (hello inventory first, then the last scan). */
  agentPaths(agentId: string): { disk: string[]; restore: string[] } {
    const row = this.agents.row(agentId);
    if (!row || row.status === 'revoked') throw new FerryError('agent_not_found', `No agent exists with ID ${JSON.stringify(agentId)}`, { status: 422, details: { field: 'agent_id' } });
    const hello = agentView(row, false).inventory as { disk_paths?: unknown; restore_paths?: unknown };
    const scan = this.d.inventory.get(agentId);
    const list = (v: unknown, fallback: string[] | undefined) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : (fallback ?? []));
    return { disk: list(hello.disk_paths, scan?.disk_paths), restore: list(hello.restore_paths, scan?.restore_paths) };
  }

  /** Creates the backup(s) and starts one job; a VM gives one backup per disk, all in that job. */
  create(input: CreateBackupInput): { job: Job; backups: Backup[] } {
    const repositoryId = input.repository_id ?? this.d.repos.defaultId();
    if (!repositoryId) throw new FerryError('validation_error', 'No repository: give "repository_id"', { status: 422, details: { field: 'repository_id' } });
    this.d.repos.get(repositoryId);
    const s = input.source;
    const common = { repository_id: repositoryId, type: input.type, policy_id: input.policy_id ?? null, parent_id: null };
    let rows: Omit<Backup, 'id' | 'created_at' | 'status' | 'snapshot_id' | 'size_bytes' | 'chunk_count' | 'uploaded_bytes' | 'uploaded_chunks' | 'stored_bytes_added' | 'bytes_read' | 'drift_detected' | 'attempts' | 'error' | 'completed_at' | 'job_id'>[];
    if ('connection_id' in s) {
      const { agent_id, spec } = this.d.connections.specFor(s.connection_id);
      if (spec.type !== 'postgresql') throw new FerryError('not_implemented', `Logical backups of ${spec.type} connections are not implemented; PostgreSQL only`, { status: 501 });
      const base = { source_type: 'database' as const, connection_id: s.connection_id };
      rows = [{ ...common, ...base, source_key: sourceKey(base), agent_id, path: null, vm_id: null, disk: null, format: input.format ?? 'custom' }];
    } else if ('vm_id' in s) {
      const vm = this.d.inventory.vm(s.vm_id);
      const disks = vm.disks.filter((x) => x.path && (x.device ?? 'disk') === 'disk');
      if (disks.length === 0) throw new FerryError('vm_has_no_disks', `VM ${vm.name} has no file or block disks to back up`, { status: 422 });
      const allowed = this.agentPaths(vm.agent_id).disk;
      for (const x of disks) {
        if (!DISK_FORMATS.has(x.format ?? 'raw')) throw new FerryError('not_implemented', `disk ${x.target} of VM ${vm.name} is ${x.format}; raw and qcow2 images are backed up`, { status: 501 });
        if (!pathAllowed(x.path!, allowed)) throw pathRefused(x.path!, 'FERRY_AGENT_DISK_PATHS', allowed);
      }
      rows = disks.map((x) => {
        const base = { source_type: 'vm_disk' as const, vm_id: vm.id, disk: x.target ?? x.path! };
        return { ...common, ...base, source_key: sourceKey(base), agent_id: vm.agent_id, path: x.path, connection_id: null, format: x.format ?? 'raw' };
      });
    } else {
      const allowed = this.agentPaths(s.agent_id).disk;
      if (!pathAllowed(s.path, allowed)) throw pathRefused(s.path, 'FERRY_AGENT_DISK_PATHS', allowed);
      const base = { source_type: 'disk' as const, agent_id: s.agent_id, path: s.path };
      // The agent probes a bare path (raw or qcow2) and the row takes the format it found.
      rows = [{ ...common, ...base, source_key: sourceKey(base), vm_id: null, disk: null, connection_id: null, format: null }];
    }
    const backups = rows.map((r) => this.d.store.insert(r));
    const first = backups[0]!;
    const job = this.engine.create({
      kind: BACKUP_JOB_KINDS.backup,
      agent_id: first.agent_id,
      resource_type: 'backup',
      resource_id: first.id,
      params: {
        backup_ids: backups.map((b) => b.id),
        backup_id: first.id,
        policy_id: input.policy_id ?? null,
        ...(input.audit_sample_percent !== undefined ? { audit_sample_percent: input.audit_sample_percent } : {}),
      },
    });
    for (const b of backups) this.d.store.update(b.id, { job_id: job.id });
    this.engine.start(job.id);
    return { job, backups: backups.map((b) => this.d.store.get(b.id)) };
  }

  restore(backupId: string, target: { agent_id: string; path: string } | { connection_id: string }): Job {
    const b = this.d.store.get(backupId);
    if (b.status !== 'completed' || !b.snapshot_id) throw new FerryError('backup_not_restorable', `Backup ${b.id} is ${b.status}; only completed backups restore`, { status: 409 });
    if ('connection_id' in target) {
      if (b.source_type !== 'database') throw new FerryError('validation_error', 'A disk backup restores to {"agent_id","path"}, not to a connection', { status: 422, details: { field: 'target' } });
      this.d.connections.specFor(target.connection_id);
    } else {
      if (b.source_type === 'database') throw new FerryError('validation_error', 'A database backup restores to {"connection_id"}', { status: 422, details: { field: 'target' } });
      const allowed = this.agentPaths(target.agent_id).restore;
      if (!pathAllowed(target.path, allowed)) throw pathRefused(target.path, 'FERRY_AGENT_RESTORE_PATHS', allowed);
    }
    const job = this.engine.create({
      kind: BACKUP_JOB_KINDS.restore,
      agent_id: 'agent_id' in target ? target.agent_id : null,
      resource_type: 'backup',
      resource_id: b.id,
      params: { backup_id: b.id, target },
    });
    return this.engine.start(job.id);
  }

  verify(backupId: string): Job {
    const b = this.d.store.get(backupId);
    if (!b.snapshot_id) throw new FerryError('backup_not_verifiable', `Backup ${b.id} is ${b.status} and has no snapshot`, { status: 409 });
    const job = this.engine.create({ kind: BACKUP_JOB_KINDS.verify, resource_type: 'backup', resource_id: b.id, params: { backup_id: b.id } });
    return this.engine.start(job.id);
  }

  /** Deletes the backup and its snapshot; its chunks go at the next GC when nothing else uses them. */
  async delete(backupId: string): Promise<void> {
    const b = this.d.store.get(backupId);
    if (b.status === 'running' || b.status === 'pending') throw new FerryError('invalid_state', `Backup ${b.id} is ${b.status}; cancel its job ${b.job_id} first`, { status: 409 });
    if (b.snapshot_id) {
      const repo = await this.d.repos.repo(b.repository_id);
      await repo.deleteSnapshot(b.snapshot_id).catch(() => undefined);
    }
    this.d.store.delete(b.id);
  }

  chain(q: { vm_id?: string; disk?: string; agent_id?: string; path?: string; connection_id?: string; repository_id?: string }): ChainView[] {
    let keys: string[];
    if (q.vm_id) {
      const vm = this.d.inventory.vm(q.vm_id);
      keys = vm.disks.filter((x) => x.path && (!q.disk || x.target === q.disk)).map((x) => sourceKey({ source_type: 'vm_disk', vm_id: vm.id, disk: x.target ?? x.path }));
    } else if (q.connection_id) keys = [sourceKey({ source_type: 'database', connection_id: q.connection_id })];
    else if (q.agent_id && q.path) keys = [sourceKey({ source_type: 'disk', agent_id: q.agent_id, path: q.path })];
    else throw new FerryError('validation_error', 'Give vm_id, connection_id, or agent_id with path', { status: 422 });
    return keys.map((key) => {
      const backups = this.d.store.chain(key, q.repository_id);
      // "bytes added" = what each backup wrote into the repository (new, compressed chunks).
      const withAdded = backups.map((b) => ({ ...b, bytes_added: b.stored_bytes_added }));
      return {
        source_key: key,
        repository_id: q.repository_id ?? backups[0]?.repository_id ?? null,
        backups: withAdded,
        total_size_bytes: backups.reduce((n, b) => n + (b.size_bytes ?? 0), 0),
        total_bytes_added: backups.reduce((n, b) => n + b.stored_bytes_added, 0),
      };
    });
  }

  /** Starts an inventory scan of one agent and resolves with what it found (or null on failure). */
  async scan(agentId: string, timeoutMs = 20_000): Promise<AgentInventory | null> {
    const job = this.engine.create({ kind: 'inventory_scan', agent_id: agentId, resource_type: 'agent', resource_id: agentId });
    const done = waitJob(this.engine, job.id, timeoutMs);
    this.engine.start(job.id);
    const j = await done;
    return j?.status === 'completed' ? (j.result as AgentInventory) : null;
  }

  getBackup(id: string): Backup {
    const b = this.d.store.find(id);
    if (!b) throw notFound('backup', id);
    return b;
  }

  /** The inventory task kind, for the runner. */
  static readonly inventoryTask = BACKUP_TASKS.inventory;
}

function pathRefused(p: string, setting: string, allowed: string[]): FerryError {
  return new FerryError('path_not_allowed', `${p} is outside the agent's ${setting} (${allowed.join(',') || 'empty'})`, { status: 403, details: { path: p, allowed } });
}

/** Resolves with the job once it reaches a terminal state, or null after `timeoutMs`. */
export function waitJob(engine: JobEngine, jobId: string, timeoutMs: number): Promise<Job | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve(null);
    }, timeoutMs);
    timer.unref();
    const off = engine.bus.on(jobId, 'status', (j: Job) => {
      if (j.status === 'completed' || j.status === 'failed' || j.status === 'cancelled') {
        clearTimeout(timer);
        off();
        resolve(j);
      }
    });
  });
}
