import { z } from 'zod';
import { RepositoryError } from './errors.ts';

export const MANIFEST_FORMAT = 1;

const digest = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256 digest');
export const snapshotIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'letters, digits, ".", "_", "-", at most 128');

const common = {
  format: z.literal(MANIFEST_FORMAT),
  id: snapshotIdSchema,
  createdAt: z.iso.datetime(),
  parent: snapshotIdSchema.optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
  size: z.number().int().nonnegative(),
};

/**
 * A patch: `[slot, at, digest, length]`, the `length` bytes at `at` inside chunk `slot` are chunk
 * `digest` (null: zeros) instead of the base chunk's bytes. Patches of a slot apply in order.
 */
const patch = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative(), digest.nullable(), z.number().int().positive()]);
export type ManifestPatch = z.infer<typeof patch>;

/**
 * A disk image: fixed-size aligned chunks; `null` marks an all-zero range that is not stored.
 * `patches` (optional, sorted by slot) overlay small changed ranges on a chunk, so a scattered
 * change tracked by a dirty bitmap stores the changed bytes, not whole chunks.
 */
export const diskManifestSchema = z.object({
  ...common,
  kind: z.literal('disk'),
  chunkSize: z.number().int().positive(),
  chunks: z.array(digest.nullable()),
  patches: z.array(patch).optional(),
});

/** A stream (dump, file): content-defined chunks in order, each with its length. */
export const streamManifestSchema = z.object({
  ...common,
  kind: z.literal('stream'),
  chunks: z.array(z.object({ d: digest, n: z.number().int().positive() })),
});

export const snapshotManifestSchema = z.discriminatedUnion('kind', [diskManifestSchema, streamManifestSchema]);

export type DiskManifest = z.infer<typeof diskManifestSchema>;
export type StreamManifest = z.infer<typeof streamManifestSchema>;
export type SnapshotManifest = z.infer<typeof snapshotManifestSchema>;

/** What `listSnapshots` returns: a manifest without its chunk list. */
export interface SnapshotSummary {
  id: string;
  kind: SnapshotManifest['kind'];
  createdAt: string;
  parent?: string;
  meta?: Record<string, unknown>;
  size: number;
  chunkCount: number;
}

/** Parses and checks a manifest, including the size/chunk arithmetic zod cannot express. */
export function parseManifest(value: unknown): SnapshotManifest {
  const parsed = snapshotManifestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown';
    throw new RepositoryError('manifest_invalid', `snapshot manifest is invalid (${where})`);
  }
  const m = parsed.data;
  if (m.kind === 'disk') {
    const expected = Math.ceil(m.size / m.chunkSize);
    if (m.chunks.length !== expected) {
      throw new RepositoryError(
        'manifest_invalid',
        `disk manifest ${m.id} lists ${m.chunks.length} chunks but size ${m.size} / chunkSize ${m.chunkSize} needs ${expected}`,
        { snapshotId: m.id },
      );
    }
    let last = 0;
    for (const [slot, at, , n] of m.patches ?? []) {
      const slotLength = Math.min(m.chunkSize, m.size - slot * m.chunkSize);
      if (slot < last || slot >= m.chunks.length || at + n > slotLength) {
        throw new RepositoryError('manifest_invalid', `disk manifest ${m.id}: patch [${slot}, ${at}, ${n}] is out of order or outside its chunk`, { snapshotId: m.id });
      }
      last = slot;
    }
  } else {
    const total = m.chunks.reduce((n, c) => n + c.n, 0);
    if (total !== m.size) {
      throw new RepositoryError('manifest_invalid', `stream manifest ${m.id}: chunk lengths sum to ${total}, size is ${m.size}`, {
        snapshotId: m.id,
      });
    }
  }
  return m;
}

/** Digests a manifest references, each once (zero ranges excluded). */
export function manifestDigests(m: SnapshotManifest): Set<string> {
  const out = new Set<string>();
  if (m.kind === 'disk') {
    for (const d of m.chunks) if (d !== null) out.add(d);
    for (const p of m.patches ?? []) if (p[2] !== null) out.add(p[2]);
  } else {
    for (const c of m.chunks) out.add(c.d);
  }
  return out;
}

export function summarize(m: SnapshotManifest): SnapshotSummary {
  const s: SnapshotSummary = { id: m.id, kind: m.kind, createdAt: m.createdAt, size: m.size, chunkCount: m.chunks.length };
  if (m.parent !== undefined) s.parent = m.parent;
  if (m.meta !== undefined) s.meta = m.meta;
  return s;
}

/** A disk manifest's patches by slot, in the order they apply. */
export function patchesBySlot(m: SnapshotManifest): Map<number, ManifestPatch[]> {
  const out = new Map<number, ManifestPatch[]>();
  if (m.kind !== 'disk') return out;
  for (const p of m.patches ?? []) {
    let list = out.get(p[0]);
    if (!list) out.set(p[0], (list = []));
    list.push(p);
  }
  return out;
}
