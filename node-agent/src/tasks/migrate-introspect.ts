import type { IntrospectPayload, IntrospectResult } from '../../../common/src/migrate-tasks.ts';
import { createConnector } from '../connectors/index.ts';
import type { TaskHandler } from './types.ts';

/** `migrate.introspect`: the source catalog and the profiles of its tables. */
export const migrateIntrospect: TaskHandler = async (payload, ctx): Promise<IntrospectResult> => {
  const p = payload as IntrospectPayload;
  const connector = createConnector(p.connection);
  try {
    ctx.progress({ phase: 'introspect', message: 'reading the catalog' });
    const catalog = await connector.introspect({ schemas: p.schemas, exclude_tables: p.exclude_tables });
    ctx.signal.throwIfAborted();
    ctx.progress({ phase: 'profile', message: `profiling ${catalog.tables.length} table(s)` });
    const profiles = await connector.profile(catalog.tables.map((t) => ({ schema: t.schema, table: t.name })), { sample_rows: p.profile_sample_rows });
    ctx.log('info', `introspected ${catalog.tables.length} table(s)`, { tables: catalog.tables.length });
    return { catalog, profiles };
  } finally {
    await connector.close().catch(() => undefined);
  }
};
