import { createLogger } from '../../common/src/logger.ts';
import { sdNotify } from '../../common/src/sd-notify.ts';
import { runCli } from './cli/commands.ts';

/** ferry-hub: wiring only. Subcommands live in cli/. */
const log = createLogger({ level: (process.env.FERRY_LOG_LEVEL as 'info' | undefined) ?? 'info', name: 'ferry-hub' });
process.exitCode = await runCli(process.argv.slice(2), { log, notify: sdNotify });
