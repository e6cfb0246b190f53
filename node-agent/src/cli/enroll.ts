import { isFerryError } from '../../../common/src/errors.ts';
import type { AgentConfig } from '../config.ts';
import { AGENT_VERSION } from '../config.ts';
import { enroll } from '../enroll/enroll.ts';
import { UsageError, parseFlags } from './args.ts';

/** `ferry-agent enroll`. Returns the process exit code; prints the agent id and status. */
export async function enrollCommand(argv: string[], config: AgentConfig, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const f = parseFlags(argv, { values: ['hub', 'token', 'state-dir', 'name'], booleans: ['force'] });
  const hub = f.hub as string | undefined;
  const token = (f.token as string | undefined) ?? env.FERRY_AGENT_ENROLL_TOKEN;
  const stateDir = (f['state-dir'] as string | undefined) ?? config.stateDir;
  if (!hub) throw new UsageError('--hub HOST:PORT is required');
  if (!token) throw new UsageError('--token TOKEN is required (or FERRY_AGENT_ENROLL_TOKEN)');
  if (!stateDir) throw new UsageError('--state-dir DIR is required (or FERRY_AGENT_STATE_DIR)');
  try {
    const r = await enroll({ hub, token, stateDir, name: f.name as string | undefined, hostname: config.hostname, version: AGENT_VERSION, force: f.force === true });
    console.log(`agent_id=${r.agentId}`);
    console.log(`status=${r.status}`);
    if (r.status === 'pending') {
      console.log(`Approve it on the hub (POST /api/v1/agents/${r.agentId}/approve); "ferry-agent run" picks up the certificate then.`);
    }
    return 0;
  } catch (e) {
    console.error(`ferry-agent enroll: ${isFerryError(e) || e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
