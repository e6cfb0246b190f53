import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../common/src/logger.ts';
import { loadConfig } from '../../hub/src/config/config.ts';
import { createHub, type Hub } from '../../hub/src/hub.ts';

export interface TestHub {
  hub: Hub;
  dataDir: string;
  adminKey: string;
  /** Base URL when started with listen; undefined otherwise. */
  url?: string;
  grpcPort?: number;
  /** In-process request through the real app (middleware, validation, stores). */
  req(method: string, p: string, opts?: { body?: unknown; rawBody?: string; headers?: Record<string, string>; key?: string | null }): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * A real hub on a temp data directory (real SQLite file, real keys). With `listen`, HTTP and
 * gRPC bind to free ports and the built-in agent may start; without, requests go through
 * `app.request()` in process.
 */
export async function startTestHub(opts: { listen?: boolean; builtin?: boolean; env?: Record<string, string>; agentWaitMs?: number } = {}): Promise<TestHub> {
  const dataDir = opts.env?.FERRY_DATA_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'ferry-test-'));
  const config = loadConfig({
    FERRY_DATA_DIR: dataDir,
    FERRY_HTTP_PORT: '0',
    FERRY_GRPC_PORT: '0',
    FERRY_BUILTIN_AGENT: opts.builtin ? 'on' : 'off',
    FERRY_LOG_LEVEL: 'silent',
    FERRY_AGENT_TIMEOUT_SECONDS: '6',
    ...opts.env,
  });
  const log = createLogger({ level: 'silent', name: 'test-hub' });
  const hub = await createHub(config, { log, builtinStdio: 'ignore', agentWaitMs: opts.agentWaitMs ?? 20_000 });
  let url: string | undefined;
  let grpcPort: number | undefined;
  if (opts.listen) {
    const ports = await hub.start();
    url = `http://127.0.0.1:${ports.httpPort}`;
    grpcPort = ports.grpcPort;
  }
  const adminKey = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
  return {
    hub,
    dataDir,
    adminKey,
    url,
    grpcPort,
    req(method, p, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const key = o.key === undefined ? adminKey : o.key;
      if (key) headers.authorization = `Bearer ${key}`;
      let body: string | undefined = o.rawBody;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      return Promise.resolve(hub.app.request(p, { method, headers, body }));
    },
    async stop() {
      await hub.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function json<T = Record<string, unknown>>(r: Response): Promise<T> {
  return (await r.json()) as T;
}

export type ErrorJson = { error: { code: string; message: string; details?: Record<string, unknown>; request_id: string } };
