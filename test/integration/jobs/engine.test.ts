import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEngine } from '../../../hub/src/jobs/engine.ts';
import { until } from '../../helpers/processes.ts';
import { json, startTestHub, type TestHub } from '../../helpers/test-hub.ts';

/**
 * The job engine with real parts: a real hub, the real built-in agent child process over gRPC,
 * real SQLite. Runners here are tiny test kinds that use the agent's `sleep` and `echo` tasks.
 */
let t: TestHub;
let engine: JobEngine;
let agentId: string;

beforeAll(async () => {
  t = await startTestHub({ listen: true, builtin: true, agentWaitMs: 20_000 });
  engine = t.hub.engine;
  agentId = t.hub.agents.builtin.agentId!;
  await until('built-in agent online', async () => t.hub.agents.sessions.isOnline(agentId));
  engine.registerRunner('test.sleep', async (ctx) => {
    const r = await ctx.runTask(agentId, 'sleep', { ms: Number(ctx.job.params.ms ?? 3000), steps: 10 });
    return { status: 'completed', result: r };
  });
  engine.registerRunner('test.unreachable', async (ctx) => {
    await ctx.runTask('agt_never_enrolled', 'echo', { x: 1 }, { agentWaitMs: 1500 });
    return { status: 'completed' };
  });
  engine.registerRunner('test.echo', async (ctx) => {
    ctx.setPhase('echoing');
    const r = await ctx.runTask(agentId, 'echo', { hello: 'world' });
    return { status: 'completed', result: r };
  });
}, 60_000);

afterAll(() => t.stop());

async function finished(id: string, ms = 30_000) {
  return until(`job ${id} finished`, async () => {
    const j = t.hub.jobs.get(id);
    return ['completed', 'failed', 'cancelled', 'paused'].includes(j.status) ? j : undefined;
  }, ms);
}

describe('job engine with a real agent', () => {
  it('runs a task on the agent and records result, phase, tasks and logs', async () => {
    const job = engine.create({ kind: 'test.echo', agent_id: agentId });
    engine.start(job.id);
    const done = await finished(job.id);
    expect(done.status).toBe('completed');
    expect(done.result).toEqual({ hello: 'world' });
    expect(done.phase).toBe('echoing');
    const api = await json<{ tasks: { kind: string; status: string }[] }>(await t.req('GET', `/api/v1/jobs/${job.id}`));
    expect(api.tasks).toEqual([expect.objectContaining({ kind: 'echo', status: 'done' })]);
    const logs = await json<{ data: { message: string }[] }>(await t.req('GET', `/api/v1/jobs/${job.id}/logs`));
    expect(logs.data.map((l) => l.message)).toContain('echo');
    const prog = await json<{ percent: number; status: string }>(await t.req('GET', `/api/v1/progress/${job.id}`));
    expect(prog.status).toBe('completed');
    expect(prog.percent).toBe(100);
  });

  it('retries a task whose agent was killed mid-task, once the agent is back', async () => {
    const job = engine.create({ kind: 'test.sleep', agent_id: agentId, params: { ms: 4000 } });
    engine.start(job.id);
    await until('task running', async () => (t.hub.jobs.get(job.id).progress.counters?.steps_done ?? 0) >= 1, 15_000, 50);
    process.kill(t.hub.agents.builtin.pid!, 'SIGKILL');
    const done = await finished(job.id, 40_000);
    expect(done.status).toBe('completed');
    const tasks = t.hub.jobs.tasksOf(job.id);
    expect(tasks.map((x) => x.status)).toEqual(['lost', 'done']);
    expect(tasks.map((x) => x.attempt)).toEqual([1, 2]);
  }, 60_000);

  it('fails a job whose agent never comes online instead of leaving it running', async () => {
    const job = engine.create({ kind: 'test.unreachable' });
    engine.start(job.id);
    const done = await finished(job.id, 20_000);
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('agent_offline');
  });

  it('cancels a running job and its task on the agent', async () => {
    const job = engine.create({ kind: 'test.sleep', agent_id: agentId, params: { ms: 20_000 } });
    engine.start(job.id);
    await until('task running', async () => (t.hub.jobs.get(job.id).progress.counters?.steps_done ?? 0) >= 1, 15_000, 50);
    engine.cancel(job.id, 'test cancel');
    const done = await finished(job.id, 15_000);
    expect(done.status).toBe('cancelled');
    const tasks = t.hub.jobs.tasksOf(job.id);
    expect(tasks.at(-1)?.status).toBe('cancelled');
  }, 40_000);

  it('streams log and progress events over SSE until the job ends', async () => {
    const job = engine.create({ kind: 'test.sleep', agent_id: agentId, params: { ms: 1500 } });
    engine.start(job.id);
    const r = await fetch(`${t.url}/api/v1/jobs/${job.id}/logs?follow=true`, {
      headers: { authorization: `Bearer ${t.adminKey}`, accept: 'text/event-stream' },
    });
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    const text = await r.text();
    expect(text).toMatch(/event: progress\ndata: \{.*"job_id":"job_/);
    expect(text).toContain('event: end');
    const progressEvents = text.split('\n').filter((l) => l === 'event: progress');
    expect(progressEvents.length).toBeGreaterThanOrEqual(2);
  }, 30_000);
});

describe('recovery after a hub restart', () => {
  it('marks in-flight tasks lost and hands running jobs back to their runner', async () => {
    // A job left "running" by a dead hub: written straight into the real store, as a crash leaves it.
    const job = engine.create({ kind: 'test.echo', agent_id: agentId });
    t.hub.jobs.update(job.id, { status: 'running', started_at: new Date().toISOString() });
    t.hub.jobs.insertTask({ id: 'tsk_orphan', job_id: job.id, agent_id: agentId, kind: 'echo', attempt: 1, created_at: new Date().toISOString() });
    const r = engine.recover();
    expect(r.resumed).toContain(job.id);
    const done = await finished(job.id);
    expect(done.status).toBe('completed');
    const tasks = t.hub.jobs.tasksOf(job.id);
    expect(tasks.find((x) => x.id === 'tsk_orphan')?.status).toBe('lost');
    expect(tasks.some((x) => x.status === 'done')).toBe(true);
  });
});
