import { readFileSync } from 'node:fs';
import os from 'node:os';

/** What the agent is built to reach; the hub picks agents for a job by these. */
export const DEFAULT_CAPABILITIES = ['postgresql', 'mysql', 'sqlite', 'oracle', 'disk'];

export const AGENT_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * Agent settings from the environment (the systemd unit reads /etc/ferry-agent/ferry-agent.env).
 * Command-line flags win over these.
 */
export interface AgentConfig {
  /** FERRY_AGENT_STATE_DIR: key, certificate, CA and agent.json. */
  stateDir: string | undefined;
  /** FERRY_LOG_LEVEL @default 'info' */
  logLevel: LogLevel;
  /** FERRY_AGENT_CAPABILITIES (comma-separated) @default DEFAULT_CAPABILITIES */
  capabilities: string[];
  /** FERRY_AGENT_DISK_PATHS (comma-separated), reported in the inventory. */
  diskPaths: string[];
  /** FERRY_AGENT_RESTORE_PATHS (comma-separated), reported in the inventory. */
  restorePaths: string[];
  /** FERRY_AGENT_RECONNECT_MIN_MS: first reconnect delay. @default 250 */
  reconnectMinMs: number;
  /** FERRY_AGENT_RECONNECT_MAX_MS: reconnect delays double up to this. @default 5000 */
  reconnectMaxMs: number;
  /** FERRY_AGENT_REVOKED_RETRY_SECONDS: retry interval when the hub refuses this agent. @default 60 */
  refusedRetryMs: number;
  /** FERRY_AGENT_HEARTBEAT_SECONDS: upper bound on the heartbeat interval (the hub's welcome may ask for less). @default 5 */
  heartbeatMs: number;
  /** FERRY_AGENT_STOP_GRACE_SECONDS: on SIGTERM, how long cancelled tasks get to report. @default 10 */
  stopGraceMs: number;
  /**
   * FERRY_AGENT_DATA_PLANE: 'on' sends bulk data over the hub's data plane port when the hub
   * offers one (falling back to gRPC when it cannot be reached); 'off' always uses gRPC Push/Pull
   * (one port to open in firewalls, about twice the CPU per byte). @default 'on'
   */
  dataPlane: boolean;
  /**
   * FERRY_AGENT_DATA_SOCKET: the hub's local data socket; set by the hub for its built-in agent
   * only (plain Unix socket instead of TLS over loopback).
   */
  dataSocket: string | undefined;
  hostname: string;
}

export class AgentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentConfigError';
  }
}

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function list(v: string | undefined): string[] {
  return (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function num(env: NodeJS.ProcessEnv, key: string, dflt: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new AgentConfigError(`${key}=${JSON.stringify(raw)}: expected a number from ${min} to ${max}`);
  return n;
}

function onOff(env: NodeJS.ProcessEnv, key: string, dflt: boolean): boolean {
  const raw = (env[key] ?? '').trim().toLowerCase();
  if (raw === '') return dflt;
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'off' || raw === 'false' || raw === '0') return false;
  throw new AgentConfigError(`${key}=${JSON.stringify(env[key])}: expected on or off`);
}

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const level = (env.FERRY_LOG_LEVEL || 'info') as LogLevel;
  if (!LEVELS.includes(level)) throw new AgentConfigError(`FERRY_LOG_LEVEL=${JSON.stringify(env.FERRY_LOG_LEVEL)}: expected one of ${LEVELS.join(', ')}`);
  const caps = list(env.FERRY_AGENT_CAPABILITIES);
  const reconnectMinMs = num(env, 'FERRY_AGENT_RECONNECT_MIN_MS', 250, 10, 600_000);
  return {
    stateDir: env.FERRY_AGENT_STATE_DIR || undefined,
    logLevel: level,
    capabilities: caps.length ? caps : DEFAULT_CAPABILITIES,
    diskPaths: list(env.FERRY_AGENT_DISK_PATHS),
    restorePaths: list(env.FERRY_AGENT_RESTORE_PATHS),
    reconnectMinMs,
    reconnectMaxMs: Math.max(reconnectMinMs, num(env, 'FERRY_AGENT_RECONNECT_MAX_MS', 5000, 10, 600_000)),
    refusedRetryMs: num(env, 'FERRY_AGENT_REVOKED_RETRY_SECONDS', 60, 0.1, 86_400) * 1000,
    heartbeatMs: num(env, 'FERRY_AGENT_HEARTBEAT_SECONDS', 5, 0.1, 3600) * 1000,
    stopGraceMs: num(env, 'FERRY_AGENT_STOP_GRACE_SECONDS', 10, 0, 600) * 1000,
    dataPlane: onOff(env, 'FERRY_AGENT_DATA_PLANE', true),
    dataSocket: env.FERRY_AGENT_DATA_SOCKET || undefined,
    hostname: os.hostname(),
  };
}
