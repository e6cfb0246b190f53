import { EventEmitter } from 'node:events';
import type { Job, JobLog, JobProgress } from './types.ts';

export interface JobEvents {
  log: (l: JobLog) => void;
  progress: (p: JobProgress & { job_id: string; status: Job['status'] }) => void;
  status: (j: Job) => void;
}

/**
 * In-process fan-out of job logs, progress and status changes to SSE followers. Followers that
 * fall behind are not buffered here: they read the durable log table and then follow the bus.
 */
export class JobBus {
  private readonly ee = new EventEmitter();

  constructor() {
    this.ee.setMaxListeners(0);
  }

  emit<K extends keyof JobEvents>(jobId: string, event: K, ...args: Parameters<JobEvents[K]>): void {
    this.ee.emit(`${jobId}:${event}`, ...args);
  }

  on<K extends keyof JobEvents>(jobId: string, event: K, fn: JobEvents[K]): () => void {
    const name = `${jobId}:${event}`;
    this.ee.on(name, fn);
    return () => this.ee.off(name, fn);
  }
}
