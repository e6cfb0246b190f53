import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../../common/src/logger.ts';
import { createAgentsModule, type AgentsModule } from '../../../hub/src/agents/index.ts';
import type { TaskListener, TaskLogEvent, TaskProgressEvent, TaskResultEvent } from '../../../hub/src/agents/task-channel.ts';
import { openDb, type Db } from '../../../hub/src/store/db.ts';
import { loadAgentConfig, type AgentConfig } from '../../../node-agent/src/config.ts';
import { enroll } from '../../../node-agent/src/enroll/enroll.ts';
import { loadState } from '../../../node-agent/src/enroll/state.ts';
import { agentHubClient } from '../../../node-agent/src/session/credentials.ts';
import type { DataPlaneTarget } from '../../../node-agent/src/session/data-plane-client.ts';
import type { AgentHubClient } from '../../../proto/src/load.ts';

/** A hub made of just the agents module: temp data dir, SQLite file, gRPC on a free port. */
export interface TestHub {
  dataDir: string;
  db: Db;
  agents: AgentsModule;
  port: number;
  address: string;
  /** Port of the bulk data plane; null when started with dataPort 'off'. */
  dataPort: number | null;
  events: RecordingListener;
  /** Stop the module (keeps the data dir: restart() reopens the same state). */
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

export class RecordingListener implements TaskListener {
  progress: { agentId: string; e: TaskProgressEvent }[] = [];
  logs: { agentId: string; e: TaskLogEvent }[] = [];
  results: { agentId: string; e: TaskResultEvent }[] = [];
  offline: { agentId: string; inFlight: string[] }[] = [];
  online: string[] = [];
  onProgress(agentId: string, e: TaskProgressEvent) {
    this.progress.push({ agentId, e });
  }
  onLog(agentId: string, e: TaskLogEvent) {
    this.logs.push({ agentId, e });
  }
  onResult(agentId: string, e: TaskResultEvent) {
    this.results.push({ agentId, e });
  }
  onAgentOffline(agentId: string, inFlight: string[]) {
    this.offline.push({ agentId, inFlight });
  }
  onAgentOnline(agentId: string) {
    this.online.push(agentId);
  }
}

export const silentLog = createLogger({ level: process.env.FERRY_TEST_LOG === '1' ? 'debug' : 'silent', name: 'test' });

export async function startTestHub(o: { dataDir?: string; port?: number; timeoutSeconds?: number; builtin?: boolean; relayBoundBytes?: number; dataPort?: number | 'off' } = {}): Promise<TestHub> {
  const dataDir = o.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'ferry-agents-'));
  const db = openDb(path.join(dataDir, 'ferry.db'));
  const agents = await createAgentsModule({
    db,
    log: silentLog,
    config: {
      dataDir,
      FERRY_GRPC_HOST: '127.0.0.1',
      FERRY_GRPC_PORT: o.port ?? 0,
      FERRY_DATA_PORT: o.dataPort,
      FERRY_GRPC_ADVERTISE: '',
      FERRY_AGENT_TIMEOUT_SECONDS: o.timeoutSeconds ?? 30,
      FERRY_BUILTIN_AGENT: o.builtin ?? false,
      FERRY_AGENT_DISK_PATHS: '',
      FERRY_AGENT_RESTORE_PATHS: '',
      FERRY_LOG_LEVEL: 'silent',
    },
    builtin: { stdio: process.env.FERRY_TEST_LOG === '1' ? 'inherit' : 'ignore', env: { FERRY_AGENT_RECONNECT_MAX_MS: '1000' } },
    relayBoundBytes: o.relayBoundBytes,
  });
  const events = new RecordingListener();
  agents.sessions.setListener(events);
  const { grpcPort, dataPort } = await agents.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await agents.stop();
    db.close();
  };
  return {
    dataDir,
    db,
    agents,
    port: grpcPort,
    address: `127.0.0.1:${grpcPort}`,
    dataPort,
    events,
    stop,
    async cleanup() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Agent config for in-process sessions: fast reconnects and heartbeats. */
export function testAgentConfig(over: Partial<AgentConfig> = {}): AgentConfig {
  return { ...loadAgentConfig({}), reconnectMinMs: 50, reconnectMaxMs: 500, refusedRetryMs: 500, heartbeatMs: 500, stopGraceMs: 2000, ...over };
}

/** Poll until `fn` returns a truthy value (no fixed sleeps in tests). */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * An agent enrolled in-process (auto-approved token): its gRPC client and its data plane
 * target, without a session. `track` collects the state dir and client for cleanup.
 */
export async function enrollDataAgent(
  hub: TestHub,
  track: { dirs: string[]; clients: AgentHubClient[] },
): Promise<{ agentId: string; client: AgentHubClient; target: DataPlaneTarget }> {
  const stateDir = tempDir('ferry-agent-state-');
  track.dirs.push(stateDir);
  const { token } = hub.agents.registry.createToken({ autoApprove: true });
  const { agentId } = await enroll({ hub: hub.address, token, stateDir, hostname: 'h', version: 't' });
  const st = loadState(stateDir);
  const client = agentHubClient(st.identity.hub, { caPem: st.caPem, keyPem: st.keyPem, certPem: st.certPem! });
  track.clients.push(client);
  return { agentId, client, target: { host: '127.0.0.1', port: hub.dataPort ?? 0, caPem: st.caPem, keyPem: st.keyPem, certPem: st.certPem! } };
}
