import { execFile } from 'node:child_process';

/**
 * Service readiness for systemd (sd_notify(3)). Node cannot send the datagram itself (no
 * AF_UNIX datagram sockets), so this runs `systemd-notify`, which systemd accepts because the
 * units set NotifyAccess=all. systemd-notify (systemd >= 246) waits until systemd has read
 * the message, so it is still alive to be attributed to the service's cgroup.
 *
 * Outside systemd (NOTIFY_SOCKET unset) nothing runs. A failure is returned, never thrown:
 * the caller logs it; under Type=notify systemd will then time the start out, which is the
 * visible symptom an admin can act on.
 */
export type SdNotifyResult =
  | { sent: true }
  | { sent: false; code: 'no_notify_socket' }
  | { sent: false; code: 'notify_failed'; message: string };

const TIMEOUT_MS = 10_000;

/** Sends `assignments` such as `READY=1`, `STATUS=listening on :8420`, `STOPPING=1`. */
export function sdNotify(assignments: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<SdNotifyResult> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve({ sent: false, code: 'no_notify_socket' });
  // Newlines would split one assignment into two messages.
  const clean = assignments.map((a) => a.replace(/[\r\n]+/g, ' '));
  return new Promise((resolve) => {
    execFile('systemd-notify', clean, { env, timeout: TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err) resolve({ sent: false, code: 'notify_failed', message: (stderr || err.message).trim() });
      else resolve({ sent: true });
    });
  });
}

/** The service accepts connections: call once every listener is bound. */
export function notifyReady(status?: string, env?: NodeJS.ProcessEnv): Promise<SdNotifyResult> {
  return sdNotify(status ? ['READY=1', `STATUS=${status}`] : ['READY=1'], env);
}

/** Shutdown has begun (SIGTERM received); systemd shows the unit as deactivating. */
export function notifyStopping(env?: NodeJS.ProcessEnv): Promise<SdNotifyResult> {
  return sdNotify(['STOPPING=1'], env);
}
