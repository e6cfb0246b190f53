import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isAllZero } from '../../../common/src/chunking/index.ts';
import { FerryError } from '../../../common/src/errors.ts';
import { auditChunks, pickSample } from '../disks/audit.ts';
import { CHUNK_ACTION, planChunks, planPatches, planSteps } from '../disks/chunk-plan.ts';
import { openDiskSource } from '../disks/open.ts';
import { splitList } from '../disks/path-policy.ts';
import type { DiskSource, Extent } from '../disks/types.ts';
import { ChunkUploader, LOOKUP_BATCH, LOOKUPS_IN_FLIGHT } from './backup-uploader.ts';
import { ReadBuffers } from './read-buffers.ts';
import { decodeDigestList, decodePatchList, PATCHED_MARK, type BackupDiskPayload, type BackupDiskResult, type DiskPatch } from './backup-wire.ts';
import { checkCompression } from './stored-chunk.ts';
import type { TaskContext, TaskHandler } from './types.ts';

/** Bytes read per read call: 16 chunks of 64 KiB; large enough that syscalls do not dominate. */
const READ_BYTES = 1024 * 1024;
/**
 * Reads kept in flight ahead of hashing: hides the round trip of an NBD read (and disk latency).
 * Tried two for raw files (six parallel reads of a cold file cost more kernel CPU than one):
 * alternated 2 GiB full backups came out no faster (6.3-6.4 s with two, 5.5-6.0 s with six).
 */
const READ_AHEAD = 6;
/**
 * Patch chunks whose reads (a few pages each) may be in flight: small cold reads cost latency,
 * not bandwidth. 2 GiB scattered 1 % bitmap incremental, alternated runs: 1.36-1.72 s with 6,
 * 1.28-1.29 s with 32.
 */
const PATCHES_AHEAD = 32;

/**
 * `backup.disk`: reads a disk (raw file or block device, or a qcow2 image through qemu-nbd) in
 * fixed chunks aligned to the disk, hashes each, and sends the hub one record per chunk: zero,
 * unchanged (same digest as the previous snapshot at that index: not even looked up), known
 * (the hub said it has it) or data. Holes are zero chunks without being read. With change
 * tracking (a qcow2 dirty bitmap), only chunks overlapping changed extents are read; the rest
 * carry the parent's digest, after an audit of a sample of them (see disks/audit.ts).
 */
export const backupDisk: TaskHandler = async (payload, ctx) => {
  const p = payload as BackupDiskPayload;
  const chunkSize = p.chunk_size;
  if (!Number.isInteger(chunkSize) || chunkSize < 4096 || (chunkSize & (chunkSize - 1)) !== 0) {
    throw new FerryError('bad_request', `chunk_size ${chunkSize} is not a power of two >= 4096`);
  }
  const ct = p.change_tracking;
  // The parent's digests arrive while the disk opens (qemu-img and qemu-nbd start-up for a qcow2).
  const parent = readPrevious(ctx, p);
  parent.catch(() => undefined); // awaited below, once the disk is open
  const disk = await openDiskSource(p.path, splitList(process.env.FERRY_AGENT_DISK_PATHS), { format: p.format, chain: ct?.chain, token: ct?.token ?? null });
  try {
    const { size, format } = disk.describe();
    const { previous, patches: previousPatches } = await parent;
    const chunks = Math.ceil(size / chunkSize);
    const r: BackupDiskResult = {
      size,
      chunks,
      zero_chunks: 0,
      unchanged_chunks: 0,
      looked_up_chunks: 0,
      uploaded_chunks: 0,
      uploaded_bytes: 0,
      bytes_read: 0,
      format: format ?? 'raw',
      change_token: disk.changeToken?.() ?? null,
      tracked: false,
      tracking_note: null,
      carried_chunks: 0,
      audited_chunks: 0,
      audit_bytes_read: 0,
      drift_detected: false,
      patches: 0,
      patch_bytes: 0,
    };
    const allocated = await disk.allocatedExtents();
    const changed = await trackedChanges(disk, p, previous.length === chunks, r, ctx);
    let plan = planChunks(size, chunkSize, allocated, changed);
    // Small changes inside a chunk the parent has: only the changed ranges are read and sent.
    let patchRanges = changed && p.patches ? planPatches(plan, chunkSize, size, changed, (i) => (i < previous.length ? (previousPatches.get(i)?.length ?? 0) : -1)) : new Map<number, Extent[]>();
    if (changed && ct && ct.audit_sample_percent > 0) {
      const carried: number[] = [];
      // A patched chunk's bytes are not its base chunk's: the audit compares whole chunks only.
      for (let i = 0; i < plan.length; i++) if (plan[i] === CHUNK_ACTION.carry && !previousPatches.has(i)) carried.push(i);
      const audit = await auditChunks(disk, pickSample(carried, ct.audit_sample_percent), previous, chunkSize);
      r.audited_chunks = audit.sampled;
      r.audit_bytes_read = audit.bytesRead;
      r.bytes_read += audit.bytesRead;
      if (audit.mismatches.length > 0) {
        // The records are not sent yet, so this backup can still be made right: read it all.
        r.drift_detected = true;
        r.drift_chunks = audit.mismatches.slice(0, 100);
        r.tracked = false;
        r.tracking_note = `drift: ${audit.mismatches.length} of ${audit.sampled} audited unchanged chunk(s) differ from the parent; every allocated chunk is re-read`;
        ctx.log('warning', `Change tracking drift on ${p.path}: ${audit.mismatches.length} of ${audit.sampled} audited chunks changed although the bitmap says unchanged (first at byte ${audit.mismatches[0]! * chunkSize}); re-reading the whole disk`, { chunks: r.drift_chunks });
        plan = planChunks(size, chunkSize, allocated, null);
        patchRanges = new Map();
      } else if (audit.sampled > 0) {
        ctx.log('info', `Audit: ${audit.sampled} unchanged chunk(s) re-read, all match the parent`);
      }
    }

    const sink = await ctx.openPush(p.channel);
    // Pooled read buffers (raw sources): reads in flight, plus the chunks the lookup batches hold.
    const heldBuffers = Math.ceil(((LOOKUPS_IN_FLIGHT + 1) * LOOKUP_BATCH * chunkSize) / READ_BYTES);
    const buffers = new ReadBuffers(READ_BYTES, READ_AHEAD + heldBuffers + 4);
    // An incremental's changed chunks are few per buffer: queued as views they would pin whole
    // 1 MiB buffers until their lookup batch drains (the pool runs dry, every read allocates).
    // Copying the 64 KiB out costs less. A full backup's chunks fill their buffers: views.
    const copyCandidates = previous.length > 0;
    // Single-chunk reads (scattered changes) get one-chunk buffers of their own: a queued
    // candidate then pins only its own bytes, with no allocation (and no copy) per read.
    const chunkBuffers = new ReadBuffers(chunkSize, READ_AHEAD + 128);
    const holds = {
      retain: (d: Buffer) => (buffers.retain(d), chunkBuffers.retain(d)),
      release: (d: Buffer) => (buffers.release(d), chunkBuffers.release(d)),
    };
    const readInto = hasReadInto(disk) ? disk.readInto.bind(disk) : null;
    const up = new ChunkUploader(ctx, p.backup_id, (f) => sink.write(f), holds, checkCompression(p.compression));
    let lastReport = 0;
    const report = (force = false) => {
      const t = Date.now();
      if (!force && t - lastReport < 500) return;
      lastReport = t;
      ctx.progress({
        percent: chunks === 0 ? 100 : Math.floor((up.emitted / chunks) * 100),
        phase: 'reading',
        counters: { bytes_read: r.bytes_read, bytes_uploaded: up.packer.dataBytes, chunks_uploaded: up.uploadedChunks, chunks_done: up.emitted },
      });
    };
    const chunkLength = (i: number) => Math.min(chunkSize, size - i * chunkSize);
    /** Chunk i as the parent has it: its base chunk and its patches (counted as unchanged or zero unless it is being patched). */
    const carry = async (i: number, patching = false) => {
      const d = previous[i] ?? null;
      if (d === null) await up.zero(chunkLength(i));
      else await up.known(d, chunkLength(i));
      if (!patching) r[d === null ? 'zero_chunks' : 'unchanged_chunks']++;
      for (const x of previousPatches.get(i) ?? []) {
        await up.patchAt(x.at);
        if (x.digest === null) await up.zero(x.length);
        else await up.known(x.digest, x.length);
      }
    };
    try {
      const steps = planSteps(plan, Math.max(1, READ_BYTES / chunkSize));
      const inflight = new Map<number, Promise<Buffer>>();
      const patchReads = new Map<number, Promise<Buffer[]>>();
      let launched = 0;
      const launch = () => {
        while (launched < steps.length && inflight.size < READ_AHEAD && patchReads.size < PATCHES_AHEAD) {
          const s = steps[launched]!;
          if (s.action === CHUNK_ACTION.read) {
            const pr =
              // A pooled buffer only for reads that fill a good part of it: a lone 64 KiB chunk
              // (scattered changes) waiting in the lookup queue would pin a whole 1 MiB buffer.
              readInto && s.count * chunkSize <= READ_BYTES && s.count * chunkSize * 4 >= READ_BYTES
                ? readInto(buffers.acquire(), s.start * chunkSize, s.count * chunkSize)
                : readInto && s.count === 1
                  ? readInto(chunkBuffers.acquire(), s.start * chunkSize, chunkSize)
                  : disk.read(s.start * chunkSize, s.count * chunkSize);
            pr.catch(() => undefined); // awaited in order below; this only keeps it from being "unhandled"
            inflight.set(launched, pr);
          } else if (s.action === CHUNK_ACTION.patch) {
            const base = s.start * chunkSize;
            const pr = Promise.all(patchRanges.get(s.start)!.map((x) => disk.read(base + x.offset, x.length)));
            pr.catch(() => undefined);
            patchReads.set(launched, pr);
          }
          launched++;
        }
      };
      for (let k = 0; k < steps.length; k++) {
        ctx.signal.throwIfAborted();
        launch();
        const s = steps[k]!;
        if (s.action === CHUNK_ACTION.hole) {
          for (let i = s.start; i < s.start + s.count; i++) await up.zero(chunkLength(i));
          r.zero_chunks += s.count;
        } else if (s.action === CHUNK_ACTION.carry) {
          for (let i = s.start; i < s.start + s.count; i++) await carry(i);
          r.carried_chunks! += s.count;
        } else if (s.action === CHUNK_ACTION.patch) {
          const reads = await patchReads.get(k)!;
          patchReads.delete(k);
          // The parent's chunk with its patches, then the new ones (applied in order, so they win).
          await carry(s.start, true);
          const ranges = patchRanges.get(s.start)!;
          for (let n = 0; n < ranges.length; n++) {
            const data = reads[n]!;
            r.bytes_read += data.length;
            r.patches!++;
            r.patch_bytes! += data.length;
            await up.patchAt(ranges[n]!.offset);
            if (isAllZero(data)) await up.zero(data.length);
            else await up.candidate(createHash('sha256').update(data).digest('hex'), data, false);
          }
        } else {
          const buf = await inflight.get(k)!;
          inflight.delete(k);
          r.bytes_read += buf.length;
          for (let c = 0; c < s.count; c++) {
            const i = s.start + c;
            const data = buf.subarray(c * chunkSize, Math.min((c + 1) * chunkSize, buf.length));
            if (isAllZero(data)) {
              await up.zero(data.length);
              r.zero_chunks++;
              continue;
            }
            const digest = createHash('sha256').update(data).digest('hex');
            // Hashing chunks whose promises are all settled never returns to the event loop, so
            // queued frames would not reach the socket (nor new reads start) until the loop
            // blocks. The local socket takes ~200 KB at a time, so the hub waited. A turn per
            // hashed chunk keeps it fed (2 GiB full backup: 4.7 -> 4.1 s; with a 4 MiB socket
            // buffer, not settable from Node, 3.6 s).
            await nextTurn();
            if (previous[i] === digest) {
              await up.known(digest, data.length);
              r.unchanged_chunks++;
            } else {
              await up.candidate(digest, copyCandidates && buffers.owns(data) ? Buffer.from(data) : data);
            }
          }
          holds.release(buf);
        }
        report();
      }
      await up.finish();
      report(true);
      await sink.end();
    } catch (e) {
      sink.abort(e instanceof Error ? e.message : String(e));
      throw e;
    }
    r.looked_up_chunks = up.lookedUp;
    r.uploaded_chunks = up.uploadedChunks;
    r.uploaded_bytes = up.packer.dataBytes;
    r.sent_bytes = up.packer.sentBytes;
    ctx.log('info', `Read ${r.bytes_read} bytes of ${size}${r.tracked ? ` (changed extents only, ${r.carried_chunks} chunks carried)` : ''}; uploaded ${r.uploaded_chunks} chunk(s), ${r.uploaded_bytes} bytes (${r.sent_bytes} on the wire)`, { ...r });
    return r;
  } finally {
    await disk.release();
  }
};

function hasReadInto(d: DiskSource): d is DiskSource & { readInto(target: Buffer, offset: number, length: number): Promise<Buffer> } {
  return typeof (d as { readInto?: unknown }).readInto === 'function';
}

/**
 * Changed extents since the parent when the source tracks changes and the parent lines up
 * (same chunk count); null means "read everything allocated". Notes why in `r`.
 */
async function trackedChanges(disk: DiskSource, p: BackupDiskPayload, parentLinesUp: boolean, r: BackupDiskResult, ctx: TaskContext): Promise<Extent[] | null> {
  const ct = p.change_tracking;
  if (!ct || !disk.changeToken) return null;
  if (!ct.token) return null;
  if (!p.previous_channel || !parentLinesUp) {
    r.tracking_note = 'the parent snapshot does not line up with the disk (size or chunk size changed); every allocated chunk is read';
    ctx.log('info', r.tracking_note);
    return null;
  }
  const c = await disk.changedExtents(ct.token);
  if (!c.tracked) {
    r.tracking_note = c.note ?? 'change tracking unavailable';
    ctx.log('warning', `Change tracking not used for ${p.path}: ${r.tracking_note}; every allocated chunk is read and hashed`);
    return null;
  }
  r.tracked = true;
  return c.extents;
}

/**
 * The parent snapshot's chunk digests and patches (none for a full backup). A chunk with
 * patches has its base digest in the patch list and PATCHED_MARK in the digest list.
 */
async function readPrevious(ctx: TaskContext, p: BackupDiskPayload): Promise<{ previous: (string | null)[]; patches: Map<number, DiskPatch[]> }> {
  const pull = async (channel: string) => {
    const parts: Buffer[] = [];
    for await (const f of ctx.openPull(channel)) parts.push(f);
    return Buffer.concat(parts);
  };
  if (!p.previous_channel) return { previous: [], patches: new Map() };
  const [list, patchList] = await Promise.all([pull(p.previous_channel), p.previous_patches_channel ? pull(p.previous_patches_channel) : null]);
  const previous = decodeDigestList(list);
  const { bases, patches } = patchList ? decodePatchList(patchList) : { bases: new Map<number, string | null>(), patches: new Map<number, DiskPatch[]>() };
  for (let i = 0; i < previous.length; i++) {
    if (previous[i] !== PATCHED_MARK) continue;
    if (!bases.has(i)) throw new FerryError('hub_protocol', `the parent's chunk ${i} is marked patched but its patches were not sent`, { retryable: true });
    previous[i] = bases.get(i)!;
  }
  return { previous, patches };
}
