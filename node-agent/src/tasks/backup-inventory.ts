import { splitList } from '../disks/path-policy.ts';
import { expandDiskPaths } from '../inventory/disks.ts';
import { scanLibvirtDir } from '../inventory/libvirt.ts';
import type { TaskHandler } from './types.ts';

/** Where libvirt keeps persistent domain definitions. @default '/etc/libvirt/qemu' */
export function libvirtDir(): string {
  return process.env.FERRY_AGENT_LIBVIRT_DIR || '/etc/libvirt/qemu';
}

/**
 * `inventory.scan`: what this agent can back up: disks under FERRY_AGENT_DISK_PATHS and the
 * VMs defined in libvirt domain XML, plus the path lists the hub checks requests against.
 */
export const inventoryScan: TaskHandler = async (_payload, ctx) => {
  const diskPaths = splitList(process.env.FERRY_AGENT_DISK_PATHS);
  const restorePaths = splitList(process.env.FERRY_AGENT_RESTORE_PATHS);
  const [disks, vms] = await Promise.all([expandDiskPaths(diskPaths), scanLibvirtDir(libvirtDir())]);
  ctx.log('info', `Inventory: ${disks.length} disk(s), ${vms.length} VM(s)`);
  return { disks, vms, disk_paths: diskPaths, restore_paths: restorePaths, libvirt_dir: libvirtDir() };
};
