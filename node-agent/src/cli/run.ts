import { createLogger } from '../../../common/src/logger.ts';
import { tuneHeapGrowth } from '../../../common/src/runtime/heap-growth.ts';
import { AGENT_VERSION, type AgentConfig } from '../config.ts';
import { loadState } from '../enroll/state.ts';
import { AgentSession } from '../session/session.ts';
import { UsageError, parseFlags } from './args.ts';

/** `ferry-agent run`: runs until SIGTERM/SIGINT, then stops cleanly. Returns the exit code. */
export async function runCommand(argv: string[], config: AgentConfig): Promise<number> {
  tuneHeapGrowth();
  const f = parseFlags(argv, { values: ['state-dir'] });
  const stateDir = (f['state-dir'] as string | undefined) ?? config.stateDir;
  if (!stateDir) throw new UsageError('--state-dir DIR is required (or FERRY_AGENT_STATE_DIR)');
  const log = createLogger({ level: config.logLevel, name: 'ferry-agent' });
  try {
    loadState(stateDir);
  } catch (e) {
    console.error(`ferry-agent run: ${(e as Error).message}`);
    return 1;
  }
  const session = new AgentSession({ stateDir, config, log, version: AGENT_VERSION });
  session.start();
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      log.info({ signal: sig }, 'stopping');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      void session.stop().then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return 0;
}
