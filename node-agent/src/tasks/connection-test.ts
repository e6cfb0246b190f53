import { createConnector } from '../connectors/index.ts';
import type { ConnectionSpec } from '../connectors/types.ts';
import type { TaskHandler } from './types.ts';

/** `connection.test`: connect with the real driver and report version, latency or an error code. */
export const connectionTest: TaskHandler = async (payload, ctx) => {
  const { connection } = payload as { connection: ConnectionSpec };
  const connector = createConnector(connection);
  try {
    const r = await connector.test();
    ctx.log(r.ok ? 'info' : 'warning', r.ok ? `Connected to ${r.server_version} in ${r.latency_ms} ms` : `Connection failed: ${r.error_code}`);
    return r;
  } finally {
    await connector.close().catch(() => undefined);
  }
};
