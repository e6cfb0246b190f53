import { execFileSync } from 'node:child_process';

/**
 * qemu-img / qemu-io / qemu-nbd for the qcow2 tests (Debian package qemu-utils; .ci/run installs
 * it). Tests do not skip without them: they fail and say what to install.
 */
export function requireQemu(): void {
  for (const tool of ['qemu-img', 'qemu-io', 'qemu-nbd']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is missing: these tests need the Debian package qemu-utils (apt-get install -y qemu-utils; .ci/run installs it)`);
    }
  }
}

export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8' });
}

/** Runs qemu-io commands (e.g. `write -P 0xab 4096 4k`) against a qcow2 image. */
export function qemuIo(file: string, ...commands: string[]): void {
  execFileSync('qemu-io', ['-f', 'qcow2', ...commands.flatMap((c) => ['-c', c]), file], { stdio: 'ignore' });
}

/** Bitmap names and flags of a qcow2 image. */
export function bitmaps(file: string): { name: string; flags: string[] }[] {
  const j = JSON.parse(qemuImg('info', '--output=json', '-U', file)) as { 'format-specific'?: { data?: { bitmaps?: { name: string; flags: string[] }[] } } };
  return j['format-specific']?.data?.bitmaps ?? [];
}
