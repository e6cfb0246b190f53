/**
 * The contract between the job engine and the agent sessions. The engine never talks gRPC; it
 * hands a task to an agent through this interface and hears back through the listener. The
 * agents module implements it over the `Connect` stream.
 */
export interface TaskAssignment {
  /** Unique per attempt: `tsk_...`. A redo of the same work gets a new task id. */
  task_id: string;
  job_id: string;
  /** e.g. `connection.test`, `migrate.introspect`, `migrate.copy_unit`, `backup.disk` */
  kind: string;
  /** Task input as JSON. Secrets inside (connection passwords) are decrypted just before sending. */
  payload: unknown;
}

export interface TaskProgressEvent {
  task_id: string;
  percent?: number;
  phase?: string;
  /** Counters such as rows, bytes, units_done; merged into the job's counters. */
  counters?: Record<string, number>;
  message?: string;
}

export interface TaskLogEvent {
  task_id: string;
  level: 'debug' | 'info' | 'warning' | 'error';
  message: string;
  fields?: Record<string, unknown>;
  timestamp: string;
}

export interface TaskResultEvent {
  task_id: string;
  ok: boolean;
  result?: unknown;
  error_code?: string;
  error_message?: string;
  retryable?: boolean;
}

export interface TaskListener {
  onProgress(agentId: string, e: TaskProgressEvent): void;
  onLog(agentId: string, e: TaskLogEvent): void;
  onResult(agentId: string, e: TaskResultEvent): void;
  /** The agent's session ended (disconnect, revoke, heartbeat timeout). Its in-flight tasks are lost. */
  onAgentOffline(agentId: string, inFlightTaskIds: string[]): void;
  onAgentOnline(agentId: string): void;
}

export interface TaskChannel {
  isOnline(agentId: string): boolean;
  /** Send a task; false when the agent has no open session (the engine then waits or fails by rule). */
  assign(agentId: string, task: TaskAssignment): boolean;
  cancel(agentId: string, taskId: string, reason: string): boolean;
  setListener(l: TaskListener): void;
}
