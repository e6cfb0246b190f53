/**
 * Replace the password of a URL-style connection string with `***`, and any `password=` option.
 * Works on whole texts too (driver messages that echo a connection string).
 * @example redactConnectionString('postgresql://app:s3cret@db:5432/hr') // 'postgresql://app:***@db:5432/hr'
 */
export function redactConnectionString(s: string): string {
  return s
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s]*)@/gi, (_m, head: string) => `${head}***@`)
    .replace(/\b(password|pwd)=([^&;\s]*)/gi, (_m, key: string) => `${key}=***`);
}
