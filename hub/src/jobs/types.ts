/**
 * Job state machine (every long operation is a job):
 *
 *   queued ──start──▶ running ──▶ completed
 *     │                 │  ├────▶ failed       (a task failed and its rule says stop)
 *     │                 │  ├─pause─▶ pausing ─▶ paused ─resume─▶ running
 *     └──cancel──▶ cancelled ◀── cancelling ◀─cancel─┘
 *
 * On hub start, jobs found `running`/`pausing`/`cancelling` are handed back to their runner,
 * which redoes unfinished work; tasks that were in flight are marked `lost` first.
 */
export const JOB_STATUSES = ['queued', 'running', 'pausing', 'paused', 'completed', 'failed', 'cancelling', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

export interface JobProgress {
  percent?: number;
  phase?: string;
  counters?: Record<string, number>;
  /** Per-second rates over the last few seconds, e.g. rows_per_second. */
  throughput?: Record<string, number>;
  message?: string;
}

export interface Job {
  id: string;
  kind: string;
  status: JobStatus;
  phase: string | null;
  agent_id: string | null;
  resource_type: string | null;
  resource_id: string | null;
  params: Record<string, unknown>;
  progress: JobProgress;
  result: unknown;
  error: { code: string; message: string } | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warning', 'error'];

export interface JobLog {
  id: number;
  job_id: string;
  timestamp: string;
  level: LogLevel;
  phase: string | null;
  message: string;
  fields?: Record<string, unknown>;
}
