import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { BackupModule } from '../../backup/index.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam, ListQuery, listOf, page, Timestamp } from '../schemas.ts';

const VmSchema = z
  .object({
    id: z.string().openapi({ description: 'The libvirt UUID' }),
    uuid: z.string(),
    name: z.string(),
    agent_id: z.string(),
    memory_kib: z.number().nullable(),
    vcpus: z.number().nullable(),
    disks: z.array(z.object({ target: z.string().nullable(), path: z.string().nullable(), type: z.string().nullable(), device: z.string().nullable(), format: z.string().nullable() })),
    networks: z.array(z.object({ mac: z.string().nullable(), type: z.string().nullable(), source: z.string().nullable(), model: z.string().nullable() })),
    definition_file: z.string(),
    scanned_at: Timestamp,
  })
  .openapi('Vm');

export function vmRoutes(app: OpenAPIHono<ApiEnv>, m: BackupModule) {
  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/vms',
      scope: 'read',
      summary: 'VMs the agents found in libvirt domain definitions, with the agent holding each',
      tags: ['backups'],
      request: {
        query: ListQuery.extend({
          agent_id: z.string().max(100).optional(),
          refresh: z.enum(['true', 'false']).optional().openapi({ description: 'Rescan every online agent first' }),
        }),
      },
      responses: { 200: { description: 'VMs', content: { 'application/json': { schema: listOf(VmSchema) } } } },
    }),
    async (c) => {
      const q = c.req.valid('query');
      if (q.refresh === 'true') await m.scanOnline();
      const all = m.inventory.vms().filter((v) => !q.agent_id || v.agent_id === q.agent_id);
      return c.json(page(all.slice(q.offset, q.offset + q.limit), all.length, q), 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/vms/{id}',
      scope: 'read',
      summary: 'One VM by UUID (or name)',
      tags: ['backups'],
      request: { params: IdParam('id', '6f1c...') },
      responses: { 200: { description: 'VM', content: { 'application/json': { schema: VmSchema } } } },
    }),
    (c) => c.json(m.inventory.vm(c.req.valid('param').id), 200),
  );
}
