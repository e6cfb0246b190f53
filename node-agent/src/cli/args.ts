/** Flags of the form `--name value` or `--name=value`, and boolean `--flag`. Unknown flags are errors. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseFlags(argv: string[], spec: { values: string[]; booleans?: string[] }): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (spec.booleans?.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    if (!spec.values.includes(name)) throw new UsageError(`unknown option --${name}`);
    const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined || v === '') throw new UsageError(`--${name} needs a value`);
    out[name] = v;
  }
  return out;
}

export const USAGE = `Usage:
  ferry-agent enroll --hub HOST:PORT --token TOKEN [--state-dir DIR] [--name NAME] [--force]
      Pin the hub CA from the token, send a key request, store key and certificate in DIR.
      The token may also come from FERRY_AGENT_ENROLL_TOKEN.
  ferry-agent run [--state-dir DIR]
      Keep a session with the hub and run the tasks it assigns. Stops on SIGTERM/SIGINT.

  DIR defaults to FERRY_AGENT_STATE_DIR.
`;
