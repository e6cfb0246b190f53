/** Validation sides that call the agent's task handlers directly (no hub, no gRPC). */
import type { WireConnection } from '../../../common/src/migrate-tasks.ts';
import type { Sides } from '../../../hub/src/validate/report.ts';
import type { TaskContext } from '../../../node-agent/src/tasks/types.ts';
import { VALIDATE_TASKS } from '../../../node-agent/src/tasks/validate-index.ts';

const ctx: TaskContext = {
  taskId: 't', jobId: 'j', signal: new AbortController().signal,
  progress: () => undefined, log: () => undefined,
  openPush: () => Promise.reject(new Error('no data channel in tests')),
  openPull: () => { throw new Error('no data channel in tests'); },
  call: () => Promise.reject(new Error('no hub in tests')),
};

export function directSides(source: WireConnection, target: WireConnection): Sides {
  const call = (conn: WireConnection) => async <R>(kind: string, payload: Record<string, unknown>): Promise<R> => {
    const h = VALIDATE_TASKS[kind];
    if (!h) throw new Error(`no handler ${kind}`);
    // Through JSON, as over the wire.
    return JSON.parse(JSON.stringify(await h(JSON.parse(JSON.stringify({ ...payload, connection: conn })), ctx))) as R;
  };
  return { source: call(source), target: call(target), sourceDialect: source.type };
}

export const pgConn = (database: string): WireConnection => ({ type: 'postgresql', host: '127.0.0.1', port: 5432, user: 'postgres', database });
