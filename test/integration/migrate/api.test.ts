import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlShop } from '../../unit/migrate/planner/fixtures.ts';
import { injectPlan, removeDir, startHub, type MigHub } from './helpers.ts';

type Body = Record<string, unknown> & { error?: { code: string; message: string } };

describe('migrations API: lifecycle and state machine (no agent needed)', () => {
  let t: MigHub;
  let src: string;
  let dst: string;

  beforeAll(async () => {
    t = await startHub();
    // No built-in agent here: give connections an enrolled-looking agent id the registry knows.
    const agent = t.hub.agents.registry.builtinAgent?.() ?? null;
    const agentId = agent?.id ?? 'agent_test';
    src = t.hub.connections.create({ type: 'sqlite', host: null, port: null, database: null, user: null, password: null, path: '/tmp/none.sqlite', options: {}, name: 'src', agent_id: agentId }).id;
    dst = t.hub.connections.create({ type: 'postgresql', host: '127.0.0.1', port: 5432, database: 'x', user: 'postgres', password: 's3cret-pw', path: null, options: {}, name: 'dst', agent_id: agentId }).id;
  });
  afterAll(async () => {
    await t.stop();
    removeDir(t.dataDir);
  });

  const create = async (extra: Record<string, unknown> = {}) => {
    const r = await t.req('POST', '/api/v1/migrations', { name: 'Shop to PG', source: { connection_id: src }, target: { connection_id: dst, schema: 'shop' }, ...extra });
    expect(r.status).toBe(201);
    return r.body as Body & { id: string; status: string };
  };

  it('creates a migration in pending with links, seed 002 shape and defaults', async () => {
    const m = await create({ options: { parallelism: 2 }, notifications: { on_events: ['completed'] } });
    expect(m.id).toMatch(/^mig_/);
    expect(['pending', 'planning']).toContain(m.status);
    expect(m.options).toEqual({ mode: 'full', parallelism: 2, batch_size: 100000, auto_approve_above: 0.9, generate_rollback: true, validation_kinds: ['structural', 'statistical', 'referential', 'semantic', 'behavioral'] });
    expect((m.plan as Body).status).toBe('generating');
    expect((m.links as Body).self).toBe(`/api/v1/migrations/${m.id}`);
    expect((m.source as Body).connection_name).toBe('src');
    expect((m.progress as { phases: { name: string }[] }).phases.map((p) => p.name)).toEqual(['planning', 'schema_migration', 'data_transfer', 'validation', 'cutover']);
    expect(m.notifications).toEqual({ on_events: ['completed'] });
  });

  it('refuses unknown connections, non-PostgreSQL targets and bad windows', async () => {
    let r = await t.req('POST', '/api/v1/migrations', { name: 'x', source: { connection_id: 'conn_nope' }, target: { connection_id: dst } });
    expect(r.status).toBe(422);
    expect(r.body.error?.code).toBe('connection_not_found');
    r = await t.req('POST', '/api/v1/migrations', { name: 'x', source: { connection_id: dst }, target: { connection_id: src } });
    expect(r.status).toBe(422);
    expect(r.body.error?.code).toBe('validation_error');
    r = await t.req('POST', '/api/v1/migrations', { name: 'x', source: { connection_id: src }, target: { connection_id: dst }, schedule: { maintenance_window: { start: '02:00', end: '06:00', timezone: 'Mars/Olympus' } } });
    expect(r.status).toBe(422);
  });

  it('answers migration_not_found for an unknown id', async () => {
    const r = await t.req('GET', '/api/v1/migrations/mig_invalid');
    expect(r.status).toBe(404);
    expect(r.body.error?.code).toBe('migration_not_found');
  });

  it('refuses start before the plan is ready (plan_not_ready) and delete while planning (invalid_state)', async () => {
    const m = await create();
    let r = await t.req('POST', `/api/v1/migrations/${m.id}/start`);
    expect(r.status).toBe(409);
    expect(r.body.error?.code).toBe('plan_not_ready');
    r = await t.req('GET', `/api/v1/migrations/${m.id}/plan`);
    expect(r.body.error?.code).toBe('plan_not_ready');
    r = await t.req('DELETE', `/api/v1/migrations/${m.id}`);
    expect(r.status).toBe(409);
    expect(r.body.error?.code).toBe('invalid_state');
  });

  it('holds a plan with uncertain mappings in plan_ready until they are approved (approval_required)', async () => {
    const m = await create();
    const { pending } = injectPlan(t.hub, m.id, mysqlShop(), [], 0.99);
    expect(pending).toBeGreaterThan(0);
    let r = await t.req('GET', `/api/v1/migrations/${m.id}`);
    expect(r.body.status).toBe('plan_ready');
    r = await t.req('POST', `/api/v1/migrations/${m.id}/start`, {});
    expect(r.status).toBe(409);
    expect(r.body.error?.code).toBe('approval_required');
    expect((r.body.error as unknown as { details: { count: number } }).details.count).toBe(pending);

    r = await t.req('POST', `/api/v1/migrations/${m.id}/start`, { dry_run: true, skip_approval: true });
    expect(r.status).toBe(200);
    expect(r.body.dry_run).toBe(true);
    expect((r.body.would_run as { phases: string[] }).phases).toEqual(['schema_migration', 'data_transfer', 'validation', 'cutover']);
    expect((await t.req('GET', `/api/v1/migrations/${m.id}`)).body.status).toBe('plan_ready');

    const maps = (await t.req('GET', `/api/v1/migrations/${m.id}/mappings`)).body as { data: { id: string; status: string; target: { type: string } }[] };
    const waiting = maps.data.filter((x) => x.status !== 'approved');
    expect(waiting.length).toBe(pending);
    // One through approve with an override, the rest in one bulk PATCH.
    const first = waiting[0] as { id: string };
    r = await t.req('POST', `/api/v1/migrations/${m.id}/plan/mappings/${first.id}/approve`, { approved: true, override_transformation: 'CAST(x AS text)', comment: 'checked with the team' });
    expect(r.status).toBe(200);
    const mp = r.body.mapping as { status: string; target: { type: string }; comment: string; overridden: boolean };
    expect(mp).toMatchObject({ status: 'approved', comment: 'checked with the team', overridden: true });
    expect(mp.target.type).toBe('text');
    const rest = waiting.slice(1).map((x) => ({ id: x.id, status: 'approved' }));
    if (rest.length) {
      r = await t.req('PATCH', `/api/v1/migrations/${m.id}/mappings`, { mappings: rest });
      expect(r.status).toBe(200);
    }
    r = await t.req('GET', `/api/v1/migrations/${m.id}`);
    expect(r.body.status).toBe('approved');
    // Rejecting one sends it back to plan_ready.
    r = await t.req('PATCH', `/api/v1/migrations/${m.id}/mappings/${first.id}`, { status: 'rejected' });
    expect(r.status).toBe(200);
    expect((await t.req('GET', `/api/v1/migrations/${m.id}`)).body.status).toBe('plan_ready');
    r = await t.req('GET', `/api/v1/migrations/${m.id}/mappings/map_000000000000`);
    expect(r.status).toBe(404);
    r = await t.req('GET', `/api/v1/migrations/${m.id}/schema/target`);
    expect(r.status).toBe(200);
    expect((r.body.tables as unknown[]).length).toBe(mysqlShop().tables.length);
    r = await t.req('GET', `/api/v1/migrations/${m.id}/plan`);
    expect(r.body.status).toBe('pending_approval');
    expect(typeof r.body.digest).toBe('string');
  });

  it('pause and resume refuse a migration that is not running; cancel then delete works', async () => {
    const m = await create();
    injectPlan(t.hub, m.id, mysqlShop(), [], 0);
    let r = await t.req('POST', `/api/v1/migrations/${m.id}/pause`, {});
    expect(r.body.error?.code).toBe('invalid_state');
    r = await t.req('POST', `/api/v1/migrations/${m.id}/resume`);
    expect(r.body.error?.code).toBe('invalid_state');
    r = await t.req('PATCH', `/api/v1/migrations/${m.id}`, { name: 'Renamed', options: { parallelism: 8 }, schedule: { maintenance_window: { start: '22:00', end: '04:00', timezone: 'Europe/Paris' } } });
    expect(r.status).toBe(200);
    expect(r.body.name).toBe('Renamed');
    expect((r.body.options as Body).parallelism).toBe(8);
    expect((r.body.options as Body).batch_size).toBe(100000);
    r = await t.req('POST', `/api/v1/migrations/${m.id}/cancel`, { reason: 'Requirements changed' });
    expect(r.body).toMatchObject({ status: 'cancelled', rollback_status: 'not_requested' });
    r = await t.req('POST', `/api/v1/migrations/${m.id}/cancel`, {});
    expect(r.body.error?.code).toBe('invalid_state');
    r = await t.req('DELETE', `/api/v1/migrations/${m.id}?keep_logs=false`);
    expect(r.body).toEqual({ id: m.id, deleted: true, logs_retained: false, metrics_retained: true });
    expect((await t.req('GET', `/api/v1/migrations/${m.id}`)).status).toBe(404);
  });

  it('lists with filters, sort, order and pagination', async () => {
    const all = (await t.req('GET', '/api/v1/migrations?limit=100')).body as { data: { id: string; name: string; status: string }[]; pagination: { total: number } };
    expect(all.pagination.total).toBe(all.data.length);
    const planReady = (await t.req('GET', '/api/v1/migrations?status=plan_ready')).body as { data: { status: string }[] };
    expect(planReady.data.length).toBeGreaterThan(0);
    expect(planReady.data.every((x) => x.status === 'plan_ready')).toBe(true);
    const page1 = (await t.req('GET', '/api/v1/migrations?limit=1&offset=0&sort=created_at&order=asc')).body as { data: { id: string }[]; pagination: { has_more: boolean } };
    expect(page1.data.length).toBe(1);
    expect(page1.pagination.has_more).toBe(true);
    expect((await t.req('GET', `/api/v1/migrations?target_id=${dst}`)).body.pagination).toMatchObject({ total: all.pagination.total });
    expect(((await t.req('GET', `/api/v1/migrations?source_id=conn_other`)).body.pagination as Body).total).toBe(0);
    expect(((await t.req('GET', `/api/v1/migrations?created_after=2999-01-01`)).body.pagination as Body).total).toBe(0);
    expect((await t.req('GET', '/api/v1/migrations?sort=password')).status).toBe(400);
  });

  it('creates from seed 000 inline connection strings without ever returning the password', async () => {
    const r = await t.req('POST', '/api/v1/migrations', {
      name: 'Inline',
      source: { type: 'sqlite', connection_string: 'sqlite:///tmp/inline.sqlite' },
      target: { type: 'postgresql', connection_string: 'postgresql://postgres:inline-secret-9@127.0.0.1:5432/db' },
    });
    // No agent in this hub: an inline connection needs the built-in agent to be known.
    if (r.status === 201) {
      expect(JSON.stringify(r.body)).not.toContain('inline-secret-9');
    } else {
      expect(r.status).toBe(422);
      expect(r.body.error?.message).not.toContain('inline-secret-9');
    }
  });
});
