import type { OpenAPIHono } from '@hono/zod-openapi';
import { FerryError } from '../../../../common/src/errors.ts';
import { renderTargetSchema } from '../../migrate/planner/index.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam } from '../schemas.ts';
import type { MigrationRouteDeps } from './migrations.ts';
import { ApproveBody, BulkMappings, MappingChange, Obj } from './migrations-schemas.ts';

const Id = IdParam('id', 'mig_abc123def456');
const MapParams = Id.extend(IdParam('mapping_id', 'map_3f2a9c0d1e2b').shape);
const json = (name: string) => ({ content: { 'application/json': { schema: Obj(name) } } });

const planNotReady = (id: string) => new FerryError('plan_not_ready', `Migration ${id} has no plan yet; wait for status plan_ready`, { status: 409 });

/** Plan, mapping decisions, and the source and target schemas. */
export function migrationPlanRoutes(app: OpenAPIHono<ApiEnv>, deps: MigrationRouteDeps) {
  const { service, store, views } = deps.migrations;
  const withPlan = (id: string) => {
    const m = store.get(id);
    if (!m.plan) throw planNotReady(id);
    return m;
  };

  app.openapi(
    route({ method: 'get', path: '/api/v1/migrations/{id}/plan', scope: 'read', summary: 'The plan: mappings with confidence, phases, risks, DDL', tags: ['migrations'], request: { params: Id }, responses: { 200: { description: 'Plan', ...json('MigrationPlan') } } }),
    (c) => c.json(views.plan(withPlan(c.req.valid('param').id)) as Record<string, unknown>, 200),
  );

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/migrations/{id}/plan/mappings/{mapping_id}/approve',
      scope: 'write',
      summary: 'Approve or reject a mapping, optionally overriding its type or transformation',
      tags: ['migrations'],
      request: { params: MapParams, body: { required: true, content: { 'application/json': { schema: ApproveBody } } } },
      responses: { 200: { description: 'The mapping after the decision', ...json('MappingDecision') } },
    }),
    (c) => {
      const { id, mapping_id } = c.req.valid('param');
      const b = c.req.valid('json');
      service.approve(id, mapping_id, b, c.get('principal')?.id ?? null);
      const m = store.get(id);
      const mp = views.mappings(m).find((x) => x.id === mapping_id);
      return c.json({ migration_id: id, migration_status: m.status, mapping: mp } as Record<string, unknown>, 200);
    },
  );

  app.openapi(
    route({ method: 'get', path: '/api/v1/migrations/{id}/schema/source', scope: 'read', summary: 'The analysed source schema (introspected catalog)', tags: ['migrations'], request: { params: Id }, responses: { 200: { description: 'Catalog', ...json('SourceSchema') } } }),
    (c) => {
      const m = store.get(c.req.valid('param').id);
      if (!m.catalog) throw planNotReady(m.id);
      return c.json({ migration_id: m.id, analyzed_at: m.plan_generated_at, ...m.catalog } as Record<string, unknown>, 200);
    },
  );

  app.openapi(
    route({ method: 'get', path: '/api/v1/migrations/{id}/schema/target', scope: 'read', summary: 'The target schema the plan creates', tags: ['migrations'], request: { params: Id }, responses: { 200: { description: 'Target schema', ...json('TargetSchema') } } }),
    (c) => {
      const m = withPlan(c.req.valid('param').id);
      return c.json({ migration_id: m.id, ...renderTargetSchema(m.plan as never), ddl: m.plan?.ddl } as Record<string, unknown>, 200);
    },
  );

  app.openapi(
    route({ method: 'get', path: '/api/v1/migrations/{id}/mappings', scope: 'read', summary: 'All column mappings', tags: ['migrations'], request: { params: Id }, responses: { 200: { description: 'Mappings', ...json('Mappings') } } }),
    (c) => {
      const m = withPlan(c.req.valid('param').id);
      const data = views.mappings(m);
      return c.json({ data, summary: { total: data.length, approved: data.filter((x) => x.status === 'approved').length, pending_review: data.filter((x) => x.status === 'pending_review').length, rejected: data.filter((x) => x.status === 'rejected').length } }, 200);
    },
  );

  app.openapi(
    route({ method: 'patch', path: '/api/v1/migrations/{id}/mappings', scope: 'write', summary: 'Change several mappings at once (status, target_type, transformation, comment)', tags: ['migrations'], request: { params: Id, body: { required: true, content: { 'application/json': { schema: BulkMappings } } } }, responses: { 200: { description: 'Mappings', ...json('Mappings') } } }),
    (c) => {
      const id = c.req.valid('param').id;
      const b = c.req.valid('json');
      service.changeMappings(id, b.mappings.map((x) => ({ mapping_id: x.id, status: x.status, type: x.target_type, transformation: x.transformation, comment: x.comment })), c.get('principal')?.id ?? null);
      const m = store.get(id);
      const ids = new Set(b.mappings.map((x) => x.id));
      return c.json({ migration_id: id, migration_status: m.status, data: views.mappings(m).filter((x) => ids.has(x.id)) } as Record<string, unknown>, 200);
    },
  );

  app.openapi(
    route({ method: 'get', path: '/api/v1/migrations/{id}/mappings/{mapping_id}', scope: 'read', summary: 'One mapping', tags: ['migrations'], request: { params: MapParams }, responses: { 200: { description: 'Mapping', ...json('Mapping') } } }),
    (c) => {
      const { id, mapping_id } = c.req.valid('param');
      const mp = views.mappings(withPlan(id)).find((x) => x.id === mapping_id);
      if (!mp) throw new FerryError('mapping_not_found', `No mapping exists with ID ${JSON.stringify(mapping_id)} in migration ${id}`, { status: 404 });
      return c.json(mp as unknown as Record<string, unknown>, 200);
    },
  );

  app.openapi(
    route({ method: 'patch', path: '/api/v1/migrations/{id}/mappings/{mapping_id}', scope: 'write', summary: 'Change one mapping', tags: ['migrations'], request: { params: MapParams, body: { required: true, content: { 'application/json': { schema: MappingChange } } } }, responses: { 200: { description: 'Mapping', ...json('Mapping') } } }),
    (c) => {
      const { id, mapping_id } = c.req.valid('param');
      const b = c.req.valid('json');
      service.changeMappings(id, [{ mapping_id, status: b.status, type: b.target_type, transformation: b.transformation, comment: b.comment }], c.get('principal')?.id ?? null);
      const mp = views.mappings(store.get(id)).find((x) => x.id === mapping_id);
      return c.json(mp as unknown as Record<string, unknown>, 200);
    },
  );
}
