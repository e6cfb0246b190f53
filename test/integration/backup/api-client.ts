import type { TestHub } from '../../helpers/test-hub.ts';

export type Json = Record<string, unknown> & { id?: string };

/** Thin REST helpers for backup tests: every call goes through the real HTTP API. */
export function client(h: TestHub) {
  const call = async (method: string, p: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const r = await fetch(`${h.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${h.adminKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: (await r.json()) as Json };
  };
  const job = async (id: string, timeoutMs = 120_000): Promise<Json> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await call('GET', `/api/v1/jobs/${id}`);
      if (['completed', 'failed', 'cancelled'].includes(String(body.status))) return body;
      if (Date.now() > until) throw new Error(`job ${id} still ${String(body.status)} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return {
    call,
    job,
    /** Waits for the built-in agent to be online and to have reported its inventory. */
    async builtinAgent(timeoutMs = 30_000): Promise<string> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const id = h.hub.agents.builtin.agentId;
        if (id && h.hub.agents.sessions.isOnline(id) && h.hub.backup.inventory.get(id)) return id;
        if (Date.now() > until) throw new Error('built-in agent did not come online');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    /** Starts a backup and waits for its job; returns the backup as GET shows it afterwards. */
    async backup(body: unknown): Promise<{ backup: Json; job: Json }> {
      const r = await call('POST', '/api/v1/backups', body);
      if (r.status !== 202) throw new Error(`POST /backups answered ${r.status}: ${JSON.stringify(r.body)}`);
      const j = await job(String(r.body.job_id));
      const b = await call('GET', `/api/v1/backups/${String(r.body.id)}`);
      return { backup: b.body, job: j };
    },
    async restore(backupId: string, target: unknown): Promise<Json> {
      const r = await call('POST', `/api/v1/backups/${backupId}/restore`, { target });
      if (r.status !== 202) throw new Error(`restore answered ${r.status}: ${JSON.stringify(r.body)}`);
      return job(String(r.body.job_id));
    },
  };
}
