import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear in a log object. Connection passwords and keys must
 * never reach a log line, even when a whole spec or request body is logged by mistake.
 */
const REDACT = [
  'password',
  '*.password',
  '*.*.password',
  'connection_string',
  '*.connection_string',
  '*.*.connection_string',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'api_key',
  '*.api_key',
  'private_key',
  '*.private_key',
];

export function createLogger(opts: { level: LevelWithSilent; name: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    { level: opts.level, name: opts.name, redact: { paths: REDACT, censor: '[redacted]' } },
    opts.destination ?? process.stdout,
  );
}

/** Remove the password part of a URL-like connection string: `postgresql://u:***@h/db`. */
export function redactUrl(s: string): string {
  return s.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
