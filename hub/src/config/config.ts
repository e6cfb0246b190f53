import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Hub configuration: environment variables, optionally merged over a JSON config file named by
 * FERRY_CONFIG_FILE (env wins). Validated once at start; a bad value stops the process with a
 * message naming the setting, its value and what is allowed.
 */
const bool = z
  .union([z.boolean(), z.string()])
  .transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'on', 'yes'].includes(s)) return true;
    if (['0', 'false', 'off', 'no'].includes(s)) return false;
    ctx.addIssue({ code: 'custom', message: 'expected one of on/off, true/false, 1/0, yes/no' });
    return z.NEVER;
  });

const port = z.coerce.number().int().min(0).max(65535);
const host = z.string().min(1);

export const ConfigSchema = z.object({
  FERRY_DATA_DIR: z.string().min(1).default('./data'),
  FERRY_HTTP_HOST: host.default('127.0.0.1'),
  FERRY_HTTP_PORT: port.default(8420),
  FERRY_GRPC_HOST: host.default('127.0.0.1'),
  FERRY_GRPC_PORT: port.default(8421),
  /**
   * Port of the agents' bulk data plane (TLS on FERRY_GRPC_HOST, docs/agent-protocol.md); 'off'
   * sends bulk data over gRPC. Unset: FERRY_GRPC_PORT + 1, or any free port when that is 0.
   */
  FERRY_DATA_PORT: z.union([z.literal('off'), port]).optional(),
  /** Extra DNS names / IPs for the hub's gRPC server certificate (comma-separated). */
  FERRY_GRPC_ADVERTISE: z.string().default(''),
  FERRY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  FERRY_BUILTIN_AGENT: bool.default(true),
  FERRY_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  /** Requests per minute per credential (or per client address when unauthenticated). */
  FERRY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1200),
  /** Largest accepted request body, bytes. */
  FERRY_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  /** Seconds without a heartbeat after which an agent counts as offline and its jobs are re-queued or failed. */
  FERRY_AGENT_TIMEOUT_SECONDS: z.coerce.number().int().min(2).max(3600).default(30),
  /** Disk paths (globs) and restore paths for the built-in agent, passed to it unchanged. */
  FERRY_AGENT_DISK_PATHS: z.string().default(''),
  FERRY_AGENT_RESTORE_PATHS: z.string().default(''),
});

export type HubConfig = z.infer<typeof ConfigSchema> & { dataDir: string };

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const KEYS = Object.keys(ConfigSchema.shape) as (keyof typeof ConfigSchema.shape)[];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): HubConfig {
  const fromFile: Record<string, unknown> = {};
  const file = env.FERRY_CONFIG_FILE;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`FERRY_CONFIG_FILE=${file}: cannot read it as JSON (${(e as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`FERRY_CONFIG_FILE=${file}: expected a JSON object of FERRY_* settings`);
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (!(KEYS as string[]).includes(k)) throw new ConfigError(`FERRY_CONFIG_FILE=${file}: unknown setting ${k}; allowed: ${KEYS.join(', ')}`);
      fromFile[k] = v;
    }
  }
  const raw: Record<string, unknown> = { ...fromFile };
  for (const k of KEYS) if (env[k] !== undefined && env[k] !== '') raw[k] = env[k];
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const msgs = r.error.issues.map((i) => {
      const key = String(i.path[0] ?? '?');
      const shown = key === 'FERRY_ADMIN_PASSWORD' ? '(hidden)' : JSON.stringify(raw[key]);
      return `${key}=${shown}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${msgs.join('\n  ')}`);
  }
  return { ...r.data, dataDir: path.resolve(r.data.FERRY_DATA_DIR) };
}
