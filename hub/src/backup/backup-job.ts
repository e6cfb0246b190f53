import { FerryError } from '../../../common/src/errors.ts';
import type { RelayChannel } from '../agents/relay.ts';
import type { JobContext, JobRunner } from '../jobs/engine.ts';
import { encodeDigestList, encodePatchList, PATCHED_MARK, type BackupDatabasePayload, type BackupDiskPayload, type BackupDiskResult } from '../../../node-agent/src/tasks/backup-wire.ts';
import { auditPercent, changeTrackingChain } from './audit-policy.ts';
import { BACKUP_TASKS, type BackupDeps } from './deps.ts';
import { emptyIngest, ingestRecords, type IngestResult } from './ingest.ts';
import type { ManifestPatch, Repository, SnapshotManifest } from './repository/index.ts';
import { toFerryError } from './repositories.ts';
import type { Backup } from './store.ts';

/** Attempts per backup: an agent lost mid-way is waited for and the backup redone (stored chunks are not resent). */
const ATTEMPTS = 3;

/**
 * The `backup` job: one backup row, one snapshot. The agent streams records on a relay
 * channel (chunks compressed by the agent with the repository's codec, which the payload
 * names), the hub stores the missing chunks as they arrive and writes the manifest at the
 * end. A pending marker (id = backup id) keeps every chunk this backup stored or was told
 * about safe from GC until the manifest exists; a redo after an agent or hub crash reuses it.
 */
export function backupJobRunner(d: BackupDeps): JobRunner {
  return async (ctx) => {
    const ids = (ctx.job.params.backup_ids as string[] | undefined) ?? [String(ctx.job.params.backup_id)];
    const results: unknown[] = [];
    for (const id of ids) results.push(await runOne(d, ctx, id));
    return { status: 'completed', result: ids.length === 1 ? results[0] : { backups: results } };
  };
}

async function runOne(d: BackupDeps, ctx: JobContext, backupId: string): Promise<unknown> {
  {
    const b = d.store.get(backupId);
    if (b.status === 'completed') return { backup: b };
    const repo = await d.repos.repo(b.repository_id);
    d.store.update(b.id, { status: 'running', job_id: ctx.job.id, error: null });
    await repo.beginBackup({ id: b.id });
    const agentId = b.agent_id!;
    const unregister = d.active.add(b.id, agentId, repo);
    try {
      const parent = b.type === 'incremental' ? await previousDigests(d, repo, b) : null;
      let parentClaimed: Promise<unknown> = Promise.resolve();
      if (parent) {
        // Claims the parent's chunks for this backup: a prune+GC meanwhile cannot take them.
        // Every batch is claimed in memory when hasChunks is called (what GC checks); the
        // claim files are written while the agent works, and waited for before the snapshot.
        const distinct = [...new Set([...parent.digests, ...parent.patches.map((x) => x[2])].filter((x): x is string => x !== null))];
        const claims: Promise<unknown>[] = [];
        for (let i = 0; i < distinct.length; i += 4096) claims.push(repo.hasChunks(distinct.slice(i, i + 4096), { backupId: b.id }));
        parentClaimed = Promise.all(claims);
        parentClaimed.catch(() => undefined); // awaited before the snapshot
        ctx.log('info', `Incremental against ${parent.backup.id} (${parent.digests.length} chunks): unchanged chunks are not looked up`);
      }
      const kind = b.source_type === 'database' ? 'stream' : 'disk';
      let ingest: IngestResult | undefined;
      let agentResult: Record<string, unknown> = {};
      for (let attempt = 1; attempt <= ATTEMPTS && !ingest; attempt++) {
        d.store.update(b.id, { attempts: d.store.get(b.id).attempts + 1 });
        const counters = emptyIngest();
        const ch = d.relay.openChannel(`bk-${b.id}-${ctx.job.id}-${attempt}-${Date.now()}`, { producer: agentId });
        let prev: RelayChannel | undefined;
        let prevPatches: RelayChannel | undefined;
        const ingestP = ingestRecords(ch, repo, b.id, kind, counters, () => ch.producerVia, kind === 'disk' ? repo.config.chunking.disk.size : 0);
        const compression = agentId === d.builtinAgentId() ? undefined : repo.config.compression;
        ingestP.catch(() => undefined);
        try {
          let task: string;
          let payload: BackupDiskPayload | BackupDatabasePayload;
          if (kind === 'disk') {
            const p: BackupDiskPayload = {
              backup_id: b.id,
              path: b.path!,
              chunk_size: repo.config.chunking.disk.size,
              channel: ch.name,
              compression,
              patches: true,
              format: b.format ?? 'auto',
              change_tracking: {
                chain: changeTrackingChain(b.repository_id, b.source_key),
                token: parent?.changeToken ?? null,
                audit_sample_percent: auditPercent(ctx.job.params.audit_sample_percent as number | undefined, d.store.chain(b.source_key, b.repository_id).length),
              },
            };
            if (parent) {
              prev = d.relay.openChannel(`${ch.name}-prev`, { consumer: agentId });
              p.previous_channel = prev.name;
              const patched = new Map(parent.patches.map((x) => [x[0], parent.digests[x[0]] ?? null] as const));
              void send(prev, parent.digests.map((d0, i) => (patched.has(i) ? PATCHED_MARK : d0)), encodeDigestList);
              if (patched.size > 0) {
                prevPatches = d.relay.openChannel(`${ch.name}-patches`, { consumer: agentId });
                p.previous_patches_channel = prevPatches.name;
                void send(prevPatches, parent.patches.map(([slot, at, digest, length]) => ({ slot, at, digest, length })), (list) => encodePatchList(patched, list));
              }
            }
            task = BACKUP_TASKS.disk;
            payload = p;
          } else {
            const { spec } = d.connections.specFor(b.connection_id!);
            const { min, avg, max } = repo.config.chunking.stream;
            task = BACKUP_TASKS.database;
            payload = { backup_id: b.id, connection: spec, format: (b.format as 'custom' | 'plain') ?? 'custom', cdc: { min, avg, max }, channel: ch.name, compression };
          }
          agentResult = (await ctx.runTask(agentId, task, payload, { maxAttempts: 1 })) as Record<string, unknown>;
          ingest = await ingestP;
        } catch (e) {
          ch.abort(e instanceof Error ? e.message : String(e));
          prev?.abort('backup attempt ended');
          prevPatches?.abort('backup attempt ended');
          await ingestP.catch(() => undefined);
          const retry = e instanceof FerryError && e.retryable && attempt < ATTEMPTS && !ctx.signal.aborted;
          ctx.log(retry ? 'warning' : 'error', `Attempt ${attempt} failed after uploading ${counters.uploadedBytes} bytes: ${(e as Error).message}`);
          if (!retry) throw e;
        } finally {
          d.store.addCounters(b.id, { uploaded_bytes: counters.uploadedBytes, uploaded_chunks: counters.uploadedChunks, stored_bytes_added: counters.storedBytes, bytes_read: Number((agentResult as Partial<BackupDiskResult>).bytes_read ?? 0) });
        }
      }
      if (!ingest) throw new FerryError('backup_failed', `backup ${b.id} did not finish`, { status: 500 });
      const disk = agentResult as Partial<BackupDiskResult>;
      if (disk.drift_detected) {
        ctx.log('warning', `Backup ${b.id}: changed-block tracking drift on ${b.path} (${disk.tracking_note ?? 'audit mismatch'}); the whole disk was re-read, so this snapshot is complete`);
      }
      const manifest = buildManifest(b, repo, ingest, parent?.backup.snapshot_id ?? undefined, ctx);
      // The agent's change token (a qcow2 bitmap name) becomes the parent token of the next incremental.
      if (disk.change_token) manifest.meta = { ...manifest.meta, change_token: disk.change_token };
      if (kind === 'disk' && disk.format) manifest.meta = { ...manifest.meta, format: disk.format };
      try {
        await parentClaimed;
        await repo.writeSnapshot(manifest);
      } catch (e) {
        throw toFerryError(e);
      }
      await repo.endBackup(b.id);
      const done = d.store.update(b.id, {
        status: 'completed',
        snapshot_id: manifest.id,
        size_bytes: manifest.size,
        chunk_count: manifest.chunks.length,
        parent_id: parent?.backup.id ?? null,
        type: parent ? 'incremental' : 'full',
        completed_at: d.now().toISOString(),
        ...(kind === 'disk' && disk.format ? { format: disk.format } : {}),
        drift_detected: disk.drift_detected === true,
      });
      ctx.log('info', `Backup ${b.id} complete: ${done.size_bytes} bytes, ${done.uploaded_bytes} bytes uploaded, ${done.stored_bytes_added} bytes stored`);
      ctx.progress({ percent: 100, message: 'completed' });
      return { backup: done, agent: agentResult };
    } catch (e) {
      const cancelled = ctx.signal.aborted;
      const fe = e instanceof FerryError ? e : null;
      d.store.update(b.id, { status: cancelled ? 'cancelled' : 'failed', error: { code: cancelled ? 'cancelled' : (fe?.code ?? 'internal_error'), message: (e as Error).message } });
      // Chunks stored so far stay; the grace period and the next backup's claims keep them.
      await repo.endBackup(b.id).catch(() => undefined);
      throw e;
    } finally {
      unregister();
    }
  }
}

/** Writes `items` encoded in frames of up to 32768 items, then ends the channel. */
async function send<T>(ch: RelayChannel, items: T[], encode: (part: T[]) => Buffer): Promise<void> {
  try {
    for (let i = 0; i < items.length; i += 32768) await ch.write(encode(items.slice(i, i + 32768)));
    ch.end();
  } catch {
    // The attempt ended first; the channel is aborted with it.
  }
}

/** The newest completed backup of the same source, when its chunks line up with this repository's chunk size. */
async function previousDigests(d: BackupDeps, repo: Repository, b: Backup): Promise<{ backup: Backup; digests: (string | null)[]; patches: ManifestPatch[]; changeToken: string | null } | null> {
  if (b.source_type === 'database') return null; // CDC streams dedupe by content; there is nothing to align.
  const parent = b.parent_id ? d.store.find(b.parent_id) : d.store.latestCompleted(b.source_key, b.repository_id);
  if (!parent?.snapshot_id || parent.status !== 'completed') return null;
  let m: SnapshotManifest;
  try {
    m = await repo.readSnapshot(parent.snapshot_id);
  } catch {
    return null;
  }
  if (m.kind !== 'disk' || m.chunkSize !== repo.config.chunking.disk.size) return null;
  const token = m.meta?.change_token;
  return { backup: parent, digests: m.chunks, patches: m.patches ?? [], changeToken: typeof token === 'string' ? token : null };
}

function buildManifest(b: Backup, repo: Repository, ing: IngestResult, parent: string | undefined, ctx: JobContext): SnapshotManifest {
  const meta: Record<string, unknown> = { backup_id: b.id, source_type: b.source_type, job_id: ctx.job.id };
  if (b.agent_id) meta.agent_id = b.agent_id;
  if (b.path) meta.path = b.path;
  if (b.vm_id) meta.vm_id = b.vm_id;
  if (b.disk) meta.disk = b.disk;
  if (b.connection_id) meta.connection_id = b.connection_id;
  if (b.format) meta.format = b.format;
  const common = { format: 1 as const, id: b.id, createdAt: new Date().toISOString(), size: ing.size, meta, ...(parent ? { parent } : {}) };
  if (b.source_type === 'database') return { ...common, kind: 'stream', chunks: ing.streamChunks };
  return { ...common, kind: 'disk', chunkSize: repo.config.chunking.disk.size, chunks: ing.diskChunks, ...(ing.diskPatches.length > 0 ? { patches: ing.diskPatches } : {}) };
}
