import { FerryError } from '../../../common/src/errors.ts';
import type { RelayChannel } from '../agents/relay.ts';
import type { JobRunner } from '../jobs/engine.ts';
import { RECORD, type RestoreDatabasePayload, type RestoreDiskPayload } from '../../../node-agent/src/tasks/backup-wire.ts';
import { RecordPacker } from '../../../node-agent/src/tasks/record-packer.ts';
import { BACKUP_TASKS, type BackupDeps } from './deps.ts';
import { CODEC, patchesBySlot, RepositoryError, snapshotChunks, type Repository, type SnapshotManifest } from './repository/index.ts';
import { toFerryError } from './repositories.ts';
import { SpanReader } from './restore-spans.ts';

const ATTEMPTS = 3;

export interface RestoreParams {
  backup_id: string;
  target: { agent_id: string; path: string } | { connection_id: string };
}

/**
 * The `restore` job: the hub reads the snapshot's chunks from the packs and streams them in
 * their stored form (type-3 records) to the target agent, which decodes and hashes each chunk
 * before writing and refuses a mismatch. The hub does not decode or hash them (its CPU was the
 * bottleneck; `POST /backups/{id}/verify` is the hub-side check); a missing chunk or a truncated
 * pack still stops the restore here.
 */
export function restoreJobRunner(d: BackupDeps): JobRunner {
  return async (ctx) => {
    const p = ctx.job.params as unknown as RestoreParams;
    const b = d.store.get(p.backup_id);
    if (!b.snapshot_id) throw new FerryError('backup_not_restorable', `Backup ${b.id} has no snapshot (status ${b.status})`, { status: 409 });
    const repo = await d.repos.repo(b.repository_id);
    let manifest: SnapshotManifest;
    try {
      manifest = await repo.readSnapshot(b.snapshot_id);
    } catch (e) {
      throw toFerryError(e);
    }
    ctx.setPhase('restoring');
    for (let attempt = 1; ; attempt++) {
      let agentId: string;
      let task: string;
      let payload: RestoreDiskPayload | RestoreDatabasePayload;
      const name = `rs-${ctx.job.id}-${attempt}-${Date.now()}`;
      if ('connection_id' in p.target) {
        const { agent_id, spec } = d.connections.specFor(p.target.connection_id);
        agentId = agent_id;
        task = BACKUP_TASKS.restoreDatabase;
        payload = { connection: spec, format: (b.format as 'custom' | 'plain') ?? 'custom', size: manifest.size, channel: name };
      } else {
        agentId = p.target.agent_id;
        task = BACKUP_TASKS.restoreDisk;
        payload = { path: p.target.path, size: manifest.size, channel: name };
      }
      const ch = d.relay.openChannel(name, { consumer: agentId });
      const state: { repoError?: unknown } = {};
      const producer = produce(ch, repo, manifest, state);
      producer.catch(() => undefined);
      try {
        const result = await ctx.runTask(agentId, task, payload, { maxAttempts: 1 });
        await producer;
        ctx.log('info', `Restored backup ${b.id} (snapshot ${b.snapshot_id}, ${manifest.size} bytes)`);
        return { status: 'completed', result: { backup_id: b.id, snapshot_id: b.snapshot_id, size_bytes: manifest.size, target: p.target, agent: result } };
      } catch (e) {
        // A repository failure (damaged or missing chunk) is the real cause, not the agent's broken stream.
        ch.abort(e instanceof Error ? e.message : String(e));
        await producer.catch(() => undefined);
        if (state.repoError) throw toFerryError(state.repoError);
        const retry = e instanceof FerryError && e.retryable && attempt < ATTEMPTS && !ctx.signal.aborted;
        if (!retry) throw e;
        ctx.log('warning', `Restore attempt ${attempt} failed: ${(e as Error).message}; retrying`);
      }
    }
  };
}

/**
 * Streams the snapshot as records: zero ranges as type 0, every chunk as type 3 read from its
 * pack straight into the frame (RecordPacker.addStoredFrom), about two frames of reads ahead of
 * the one being sent. A repository error (missing chunk, truncated pack) lands in `state`.
 */
async function produce(ch: RelayChannel, repo: Repository, m: SnapshotManifest, state: { repoError?: unknown }): Promise<void> {
  const packer = new RecordPacker((f) => ch.write(f), 2);
  // In order: each chunk, then its patches (an "at" record before each).
  const entries: { digest: string | null; length: number; at: number | null }[] = [];
  const patches = patchesBySlot(m);
  snapshotChunks(m).forEach((c, slot) => {
    entries.push({ digest: c.digest, length: c.length, at: null });
    for (const [, at, digest, n] of patches.get(slot) ?? []) entries.push({ digest, length: n, at });
  });
  const spans = new SpanReader(repo, entries.map((e) => e.digest));
  const fill = (i: number, digest: string, length: number) => async (target: Buffer) => {
    try {
      await spans.fill(i, digest, target);
      // A raw form must be the manifest's length: the agent would refuse it, the hub can say why.
      if (target[0] === CODEC.raw && target.length - 1 !== length) {
        throw new RepositoryError('chunk_corrupt', `snapshot ${m.id}: chunk ${digest} has ${target.length - 1} bytes, the manifest says ${length}`, { digest });
      }
    } catch (e) {
      state.repoError ??= e;
      throw e;
    }
  };
  try {
    for (const [i, e] of entries.entries()) {
      // A patch: an "at" record, then the patch's bytes as a chunk record (the agent overlays them).
      if (e.at !== null) await packer.add(RECORD.at, '', e.at);
      if (e.digest === null) {
        await packer.add(RECORD.zero, '', e.length);
        continue;
      }
      let storedLength: number;
      try {
        storedLength = repo.storedLength(e.digest);
      } catch (err) {
        state.repoError ??= err;
        throw err;
      }
      await packer.addStoredFrom(e.digest, e.length, storedLength, fill(i, e.digest, e.length));
    }
    await packer.flush();
    ch.end();
  } catch (e) {
    ch.abort(`the hub could not read the snapshot: ${(e as Error).message}`);
    throw e;
  }
}
