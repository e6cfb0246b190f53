import { readFileSync } from 'node:fs';
import type { Logger } from '../../../common/src/logger.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { createHub } from '../hub.ts';
import { setPassword } from './set-password.ts';
import { verifyCertificateCli } from './verify-certificate.ts';

type Notify = (a: readonly string[]) => Promise<unknown>;

const USAGE = `usage: ferry-hub [start]              start the hub (REST API, gRPC for agents, built-in agent)
       ferry-hub set-password         set the admin password (reads it from stdin or FERRY_ADMIN_PASSWORD)
       ferry-hub verify-certificate FILE [--public-key KEY]   verify a signed equivalence certificate offline
       ferry-hub version`;

export async function runCli(argv: string[], o: { log: Logger; notify: Notify }): Promise<number> {
  const [cmd = 'start', ...rest] = argv;
  try {
    switch (cmd) {
      case 'start':
        return await start(o);
      case 'set-password':
        return await setPassword(rest);
      case 'verify-certificate':
        return await verifyCertificateCli(rest);
      case 'version':
      case '--version': {
        const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
        console.log(pkg.version);
        return 0;
      }
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      default:
        console.error(`unknown command "${cmd}"\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`ferry-hub: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

async function start(o: { log: Logger; notify: Notify }): Promise<number> {
  const config = loadConfig();
  const hub = await createHub(config, { log: o.log });
  const { httpPort, grpcPort, dataPort } = await hub.start();
  const http = `http://${config.FERRY_HTTP_HOST}:${httpPort}`;
  const data = dataPort === null ? 'off' : `${config.FERRY_GRPC_HOST}:${dataPort}`;
  o.log.info({ http, grpc: `${config.FERRY_GRPC_HOST}:${grpcPort}`, data_plane: data, data_dir: config.dataDir }, 'hub started');
  console.log(`Ferry hub ${http}/api/v1  (docs: ${http}/api/docs, agents: ${config.FERRY_GRPC_HOST}:${grpcPort}, agent data: ${data})`);
  console.log(`Admin API key: ${hub.adminKeyFile}`);
  await o.notify(['READY=1', `STATUS=listening on ${http}`]);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      o.log.info({ signal: sig }, 'stopping');
      void o.notify(['STOPPING=1']);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // A stop that hangs must not hold systemd's stop for TimeoutStopSec: give up after 20 s.
  const guard = setTimeout(() => {
    o.log.error('shutdown took longer than 20 s; exiting anyway');
    process.exit(1);
  }, 20_000);
  await hub.stop();
  clearTimeout(guard);
  o.log.info('stopped');
  // Work in flight stays recorded as running in the state database and is redone from its last
  // checkpoint at the next start. Exit now rather than wait for library handles (the gRPC
  // server's HTTP/2 listener lingers after forceShutdown) to drain on their own.
  process.exit(0);
}
