import { enrollCommand } from './cli/enroll.ts';
import { USAGE, UsageError } from './cli/args.ts';
import { runCommand } from './cli/run.ts';
import { AgentConfigError, loadAgentConfig } from './config.ts';

/** ferry-agent entry point: parse the command line and hand over to the cli modules. */
async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd ? 0 : 2;
  }
  try {
    const config = loadAgentConfig();
    if (cmd === 'enroll') return await enrollCommand(rest, config);
    if (cmd === 'run') return await runCommand(rest, config);
    throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  } catch (e) {
    if (e instanceof UsageError || e instanceof AgentConfigError) {
      process.stderr.write(`ferry-agent: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
