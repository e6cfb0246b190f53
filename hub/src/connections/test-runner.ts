import type { JobEngine, JobRunner } from '../jobs/engine.ts';
import type { ConnectionStore, ConnectionTest } from './store.ts';

export const CONNECTION_TEST = 'connection.test';

/** Result an agent's `connection.test` task returns (node-agent TestResult). */
interface AgentTestResult {
  ok: boolean;
  server_version: string | null;
  latency_ms: number;
  error_code?: string;
  message?: string;
}

/**
 * A connection test is a one-task job on the agent that reaches the database: the hub never
 * opens a customer database itself. The outcome is stored on the connection too.
 */
export function connectionTestRunner(store: ConnectionStore, opts: { agentWaitMs: number }): JobRunner {
  return async (ctx) => {
    const connectionId = String(ctx.job.resource_id);
    const { agent_id, spec } = store.specFor(connectionId);
    ctx.setPhase('testing');
    let test: ConnectionTest;
    try {
      const r = (await ctx.runTask(agent_id, CONNECTION_TEST, { connection: spec }, { maxAttempts: 1, agentWaitMs: opts.agentWaitMs })) as AgentTestResult;
      test = {
        status: r.ok ? 'success' : 'failed',
        tested_at: new Date().toISOString(),
        latency_ms: r.latency_ms,
        server_version: r.server_version,
        job_id: ctx.job.id,
        ...(r.ok ? {} : { error: { code: r.error_code ?? 'connection_failed', message: r.message ?? 'Connection failed' } }),
      };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      test = {
        status: 'failed',
        tested_at: new Date().toISOString(),
        latency_ms: null,
        server_version: null,
        job_id: ctx.job.id,
        error: { code: err.code ?? 'connection_failed', message: err.message ?? String(e) },
      };
    }
    store.recordTest(connectionId, test);
    ctx.log(test.status === 'success' ? 'info' : 'warning', test.status === 'success' ? `Connected: ${test.server_version} in ${test.latency_ms} ms` : `Connection test failed: ${test.error?.code}: ${test.error?.message}`);
    return { status: 'completed', result: test };
  };
}

/** Start a test job and wait for its outcome (a test is short: the agent bounds its own timeouts). */
export async function runConnectionTest(engine: JobEngine, connectionId: string, agentId: string, timeoutMs = 45_000): Promise<{ jobId: string; test: ConnectionTest | null }> {
  const job = engine.create({ kind: CONNECTION_TEST, agent_id: agentId, resource_type: 'connection', resource_id: connectionId });
  const done = new Promise<void>((resolve) => {
    const off = engine.bus.on(job.id, 'status', (j) => {
      if (j.status === 'completed' || j.status === 'failed' || j.status === 'cancelled') {
        off();
        resolve();
      }
    });
    setTimeout(() => {
      off();
      resolve();
    }, timeoutMs).unref();
  });
  engine.start(job.id);
  await done;
  return { jobId: job.id, test: null };
}
