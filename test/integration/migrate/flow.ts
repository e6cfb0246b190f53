/**
 * A migration driven through the REST API only, as a user would: create, wait for the plan,
 * approve what waits for review, start, wait for an end state. `Req` is either the in-process
 * app (helpers.ts startHub) or fetch against a real hub process.
 */
import { waitFor } from './helpers.ts';

export type Body = Record<string, unknown> & { error?: { code: string; message: string } };
export type Req = (method: string, p: string, body?: unknown) => Promise<{ status: number; body: Body }>;

export interface Mig extends Record<string, unknown> {
  id: string;
  status: string;
  phase: string | null;
  error: { code: string; message: string } | null;
  pause_reason: string | null;
  metrics: { units_done: number; units_total: number; records_processed: number };
}

/** fetch against a real hub process. */
export function httpReq(base: () => string, key: () => string): Req {
  return async (method, p, body) => {
    const r = await fetch(`${base()}${p}`, {
      method,
      headers: { authorization: `Bearer ${key()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? (JSON.parse(text) as Body) : {} };
  };
}

export async function connection(req: Req, body: Record<string, unknown>): Promise<string> {
  const r = await req('POST', '/api/v1/connections', body);
  if (r.status !== 201) throw new Error(`connection: ${r.status} ${JSON.stringify(r.body)}`);
  return String(r.body.id);
}

export async function getMig(req: Req, id: string): Promise<Mig> {
  return (await req('GET', `/api/v1/migrations/${id}`)).body as Mig;
}

/** Create and wait for the plan; with `approveAll`, approve every mapping still waiting (PATCH .../mappings). */
export async function createPlanned(req: Req, body: Record<string, unknown>, o: { approveAll?: boolean } = { approveAll: true }): Promise<string> {
  const r = await req('POST', '/api/v1/migrations', body);
  if (r.status !== 201) throw new Error(`create: ${r.status} ${JSON.stringify(r.body)}`);
  const id = String(r.body.id);
  const st = await waitFor('plan', async () => {
    const m = await getMig(req, id);
    if (m.status === 'failed') throw new Error(`planning failed: ${JSON.stringify(m.error)}`);
    return ['plan_ready', 'approved'].includes(m.status) ? m.status : null;
  }, 60_000);
  if (st === 'plan_ready' && o.approveAll !== false) await approveAll(req, id);
  return id;
}

export async function approveAll(req: Req, id: string): Promise<number> {
  const maps = (await req('GET', `/api/v1/migrations/${id}/mappings?limit=1000`)).body as { data: { id: string; status: string }[] };
  const pending = maps.data.filter((m) => m.status !== 'approved').map((m) => ({ id: m.id, status: 'approved' }));
  if (pending.length > 0) {
    const p = await req('PATCH', `/api/v1/migrations/${id}/mappings`, { mappings: pending });
    if (p.status !== 200) throw new Error(`approve: ${p.status} ${JSON.stringify(p.body)}`);
  }
  return pending.length;
}

export async function untilStatus(req: Req, id: string, statuses: string[], ms = 240_000): Promise<Mig> {
  return waitFor(`status ${statuses.join('|')} of ${id}`, async () => {
    let m: Mig;
    try {
      m = await getMig(req, id);
    } catch {
      return null; // a hub being restarted
    }
    if (m.status === 'failed' && !statuses.includes('failed')) throw new Error(`migration failed: ${JSON.stringify(m.error)}`);
    return statuses.includes(m.status) ? m : null;
  }, ms);
}

export async function start(req: Req, id: string, body: Record<string, unknown> = {}): Promise<Body> {
  const r = await req('POST', `/api/v1/migrations/${id}/start`, body);
  if (r.status >= 300) throw new Error(`start: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
