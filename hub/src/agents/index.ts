import { status } from '@grpc/grpc-js';
import path from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from '../../../common/src/logger.ts';
import type { HubConfig } from '../config/config.ts';
import { applyMigrations, type Db, type ModuleMigrations } from '../store/db.ts';
import type { ApiEnv } from '../api/env.ts';
import { agentRoutes } from '../api/routes/agents.ts';
import { BuiltinAgent } from './builtin.ts';
import { CallRegistry, type CallHandler } from './calls.ts';
import { DataPlaneServer } from './data-plane.ts';
import { AgentGrpcServer } from './grpc-server.ts';
import { agentsMigrations } from './migrations.ts';
import { HubPki } from './pki.ts';
import { AgentRegistry } from './registry.ts';
import { Relay } from './relay.ts';
import { SessionRegistry } from './sessions.ts';

export type { TaskChannel, TaskListener, TaskAssignment } from './task-channel.ts';
export { AgentRegistry, agentView, type AgentView, type AgentStatus, type AgentRow, type EnrollmentTokenView } from './registry.ts';
export { Relay, RelayChannel, RelayAborted, type RelayChannelOptions, type RelayStats } from './relay.ts';
export { SessionRegistry } from './sessions.ts';
export { HubPki, certFingerprint } from './pki.ts';
export { CallRegistry, type CallHandler } from './calls.ts';
export { BuiltinAgent } from './builtin.ts';
export { agentsMigrations } from './migrations.ts';

export interface AgentsModuleDeps {
  db: Db;
  config: Pick<
    HubConfig,
    | 'dataDir'
    | 'FERRY_GRPC_HOST'
    | 'FERRY_GRPC_PORT'
    | 'FERRY_DATA_PORT'
    | 'FERRY_GRPC_ADVERTISE'
    | 'FERRY_AGENT_TIMEOUT_SECONDS'
    | 'FERRY_BUILTIN_AGENT'
    | 'FERRY_AGENT_DISK_PATHS'
    | 'FERRY_AGENT_RESTORE_PATHS'
    | 'FERRY_LOG_LEVEL'
  >;
  log: Logger;
  /** @default () => new Date() */
  now?: () => Date;
  /** Options for the built-in agent child (tests quiet its output with stdio 'ignore'). */
  builtin?: { stdio?: 'inherit' | 'ignore' | 'pipe'; env?: Record<string, string> };
  /** Relay bound per channel, bytes. @default 8 MiB */
  relayBoundBytes?: number;
}

export interface AgentsModule {
  /** Already applied by createAgentsModule (idempotent); listed for the store's overview. */
  migrations: ModuleMigrations;
  pki: HubPki;
  registry: AgentRegistry;
  /** The TaskChannel the job engine uses (`setListener`, `assign`, `cancel`, `isOnline`). */
  sessions: SessionRegistry;
  relay: Relay;
  calls: CallRegistry;
  registerCall(method: string, fn: CallHandler): () => void;
  /** Bind the gRPC server (and start the built-in agent when FERRY_BUILTIN_AGENT is on). */
  start(): Promise<{ grpcPort: number; dataPort: number | null }>;
  /** Stop the built-in agent, close sessions and the gRPC server. */
  stop(): Promise<void>;
  builtin: { start(): Promise<void>; stop(): Promise<void>; readonly agentId: string | undefined; readonly pid: number | undefined };
  /** Mount the /api/v1/agents routes on the API app. */
  routes(app: OpenAPIHono<ApiEnv>): void;
  /** Agents with a live session: for health and metrics. */
  onlineCount(): number;
}

/**
 * Build the agents module: PKI (created on first use under $dataDir/pki), agent registry,
 * sessions, relay, Call handlers, the gRPC server and the built-in agent supervisor.
 */
export async function createAgentsModule(d: AgentsModuleDeps): Promise<AgentsModule> {
  const { db, config, log } = d;
  const now = d.now ?? (() => new Date());
  applyMigrations(db, [agentsMigrations]);
  const advertise = config.FERRY_GRPC_ADVERTISE.split(',').map((s) => s.trim()).filter(Boolean);
  const pki = await HubPki.open({ dir: path.join(config.dataDir, 'pki'), serverNames: [config.FERRY_GRPC_HOST, ...advertise], now });
  const registry = new AgentRegistry(db, pki, now);
  const timeoutMs = config.FERRY_AGENT_TIMEOUT_SECONDS * 1000;
  const sessions = new SessionRegistry({ timeoutMs, log, now: () => now().getTime() });
  const relay = new Relay({ boundBytes: d.relayBoundBytes });
  const calls = new CallRegistry();
  const heartbeatIntervalSeconds = Math.max(1, Math.min(5, Math.floor(config.FERRY_AGENT_TIMEOUT_SECONDS / 3)));
  let dataPort: number | null = null;
  const server = new AgentGrpcServer({ pki, registry, sessions, relay, calls, log, heartbeatIntervalSeconds, dataPort: () => dataPort ?? 0 });
  const dataPlane = config.FERRY_DATA_PORT === 'off' ? null : new DataPlaneServer({ pki, registry, relay, log });

  // Revocation closes the live session at once; the next Connect is refused by authenticate().
  registry.on('revoked', (id) => {
    sessions.close(id, `agent ${id} was revoked`, status.PERMISSION_DENIED);
    dataPlane?.closeAgent(id);
  });
  // last_seen: written at most every 10 s per agent (heartbeats come every few seconds) and at disconnect.
  const lastWrite = new Map<string, number>();
  sessions.on('seen', (id, at) => {
    if (at.getTime() - (lastWrite.get(id) ?? 0) < 10_000) return;
    lastWrite.set(id, at.getTime());
    registry.touch(id, at);
  });
  sessions.on('offline', (id) => {
    lastWrite.delete(id);
    registry.touch(id);
  });

  let grpcPort = 0;
  const builtinEnv: Record<string, string> = {
    FERRY_AGENT_DISK_PATHS: config.FERRY_AGENT_DISK_PATHS,
    FERRY_AGENT_RESTORE_PATHS: config.FERRY_AGENT_RESTORE_PATHS,
    FERRY_LOG_LEVEL: config.FERRY_LOG_LEVEL,
    ...d.builtin?.env,
  };
  const builtinAgent = new BuiltinAgent({
    registry,
    stateDir: path.join(config.dataDir, 'builtin-agent'),
    hubAddress: () => `${loopbackFor(config.FERRY_GRPC_HOST)}:${grpcPort}`,
    log: log.child({ component: 'builtin-agent' }),
    stdio: d.builtin?.stdio ? ['ignore', d.builtin.stdio, d.builtin.stdio] : undefined,
    env: builtinEnv,
  });

  return {
    migrations: agentsMigrations,
    pki,
    registry,
    sessions,
    relay,
    calls,
    registerCall: (method, fn) => calls.register(method, fn),
    async start() {
      grpcPort = await server.listen(config.FERRY_GRPC_HOST, config.FERRY_GRPC_PORT);
      if (dataPlane) {
        const wanted = typeof config.FERRY_DATA_PORT === 'number' ? config.FERRY_DATA_PORT : config.FERRY_GRPC_PORT === 0 ? 0 : grpcPort + 1;
        dataPort = await dataPlane.listen(config.FERRY_GRPC_HOST, wanted);
        const socketPath = path.join(config.dataDir, 'run', 'data.sock');
        // sun_path holds 107 bytes; a deeper data dir leaves the built-in agent on TLS.
        if (config.FERRY_BUILTIN_AGENT && Buffer.byteLength(socketPath) < 100) {
          await dataPlane.listenLocal(socketPath);
          builtinEnv.FERRY_AGENT_DATA_SOCKET = socketPath;
        }
      }
      sessions.start();
      if (config.FERRY_BUILTIN_AGENT) await builtinAgent.start();
      return { grpcPort, dataPort };
    },
    async stop() {
      await builtinAgent.stop();
      sessions.stop();
      await Promise.all([server.stop(), dataPlane?.stop()]);
    },
    builtin: builtinAgent,
    routes(app) {
      agentRoutes(app, { registry, sessions });
    },
    onlineCount: () => sessions.onlineAgentIds().length,
  };
}

/** The address the built-in agent dials: loopback when the hub listens on a wildcard address. */
function loopbackFor(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '' || host === 'localhost') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
