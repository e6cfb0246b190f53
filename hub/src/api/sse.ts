import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { JobEngine } from '../jobs/engine.ts';
import type { JobStore } from '../jobs/store.ts';
import { TERMINAL, type JobLog, type LogLevel } from '../jobs/types.ts';
import type { ApiEnv } from './env.ts';

export function wantsEventStream(c: Context<ApiEnv>, follow: boolean | undefined): boolean {
  return follow === true || (c.req.header('accept') ?? '').includes('text/event-stream');
}

/**
 * Stream `log` and `progress` events for a set of jobs (one for a plain job, several for a
 * migration's phases). History first from the log table, then live events from the bus; the
 * stream ends with an `end` event once every job is terminal.
 */
export function streamJobEvents(
  c: Context<ApiEnv>,
  deps: { engine: JobEngine; store: JobStore },
  q: { jobIds: () => string[]; levels?: LogLevel[]; phase?: string; since?: string; shape: (l: JobLog) => Record<string, unknown> },
) {
  return streamSSE(c, async (stream) => {
    let lastId = 0;
    let closed = false;
    stream.onAbort(() => {
      closed = true;
    });
    const subscribed = new Set<string>();
    const unsubs: (() => void)[] = [];
    const sendLogs = async () => {
      const logs = deps.store.logs({ job_ids: q.jobIds(), levels: q.levels, phase: q.phase, since: lastId ? undefined : q.since, afterId: lastId || undefined, limit: 500 });
      for (const l of logs) {
        lastId = Math.max(lastId, l.id);
        await stream.writeSSE({ event: 'log', id: String(l.id), data: JSON.stringify(q.shape(l)) });
      }
      return logs.length;
    };
    let wake: (() => void) | null = null;
    const poke = () => wake?.();
    try {
      while (!closed) {
        for (const id of q.jobIds()) {
          if (subscribed.has(id)) continue;
          subscribed.add(id);
          unsubs.push(deps.engine.bus.on(id, 'log', poke));
          unsubs.push(deps.engine.bus.on(id, 'status', poke));
          unsubs.push(
            deps.engine.bus.on(id, 'progress', (p) => {
              if (closed) return;
              void stream.writeSSE({
                event: 'progress',
                data: JSON.stringify({ job_id: p.job_id, phase: p.phase ?? null, percent: p.percent ?? null, counters: p.counters ?? {}, throughput: p.throughput ?? {}, status: p.status }),
              });
            }),
          );
        }
        while ((await sendLogs()) === 500);
        const ids = q.jobIds();
        const allDone = ids.length > 0 && ids.every((id) => {
          const j = deps.store.find(id);
          return !j || TERMINAL.has(j.status);
        });
        if (allDone) {
          await sendLogs();
          await stream.writeSSE({ event: 'end', data: JSON.stringify({ reason: 'finished' }) });
          break;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 1000);
        });
        wake = null;
      }
    } finally {
      for (const u of unsubs) u();
    }
  });
}
