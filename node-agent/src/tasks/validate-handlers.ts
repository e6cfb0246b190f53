/**
 * Task handlers of validation (`validate.*`): thin wrappers that read one side with the check
 * functions of node-agent/src/validate and report progress. Payloads carry passwords: they are
 * never logged.
 */
import { createConnector } from '../connectors/index.ts';
import { behavioral } from '../validate/behavioral.ts';
import { captureWorkload } from '../validate/capture.ts';
import type {
  BehavioralPayload, BucketsPayload, CapturePayload, CatalogPayload, CatalogResult, KeyBoundsPayload, ReferentialPayload, RowsPayload, StatisticalPayload,
} from '../validate/contract.ts';
import { referential } from '../validate/referential.ts';
import { keyBounds, semanticBuckets, semanticRows } from '../validate/semantic.ts';
import { statistical } from '../validate/statistical.ts';
import type { TaskHandler } from './types.ts';

export const validateCatalog: TaskHandler = async (payload): Promise<CatalogResult> => {
  const p = payload as CatalogPayload;
  const c = createConnector(p.connection);
  try {
    return { catalog: await c.introspect(p.schemas?.length ? { schemas: p.schemas } : {}) };
  } finally {
    await c.close().catch(() => undefined);
  }
};

export const validateStatistical: TaskHandler = async (payload, ctx) => {
  const p = payload as StatisticalPayload;
  return statistical(p.connection, p.tables, ctx.signal, (done) => ctx.progress({ percent: Math.round((done / Math.max(1, p.tables.length)) * 100), counters: { tables_done: done } }));
};

export const validateKeyBounds: TaskHandler = async (payload, ctx) => {
  const p = payload as KeyBoundsPayload;
  return keyBounds(p.connection, p.table, ctx.signal);
};

export const validateSemanticBuckets: TaskHandler = async (payload, ctx) => {
  const p = payload as BucketsPayload;
  const r = await semanticBuckets(p.connection, p.table, p.grid, ctx.signal);
  ctx.progress({ counters: { rows_hashed: r.rows } });
  return r;
};

export const validateSemanticRows: TaskHandler = async (payload, ctx) => {
  const p = payload as RowsPayload;
  return semanticRows(p.connection, p.table, p.grid, p.buckets, p.limit, ctx.signal);
};

export const validateReferential: TaskHandler = async (payload) => referential(payload as ReferentialPayload);

export const validateBehavioral: TaskHandler = async (payload, ctx) => behavioral(payload as BehavioralPayload, ctx.signal);

export const validateCaptureWorkload: TaskHandler = async (payload) => captureWorkload(payload as CapturePayload);
