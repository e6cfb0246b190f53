import { notFound } from '../../../common/src/errors.ts';
import type { DiskEntry } from '../../../node-agent/src/inventory/disks.ts';
import type { VmDefinition } from '../../../node-agent/src/inventory/libvirt.ts';
import type { Db } from '../store/db.ts';

/** What an agent's `inventory.scan` task returns. */
export interface AgentInventory {
  disks: DiskEntry[];
  vms: VmDefinition[];
  disk_paths: string[];
  restore_paths: string[];
}

export interface VmView extends Omit<VmDefinition, 'uuid'> {
  id: string;
  uuid: string;
  agent_id: string;
  scanned_at: string;
}

interface Raw {
  agent_id: string;
  disks: string;
  vms: string;
  disk_paths: string;
  restore_paths: string;
  scanned_at: string;
}

/**
 * The latest inventory each agent reported (disks, libvirt VMs, its path lists). A VM's id is
 * its libvirt UUID; when two agents report the same UUID, the latest scan wins.
 */
export class InventoryStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date,
  ) {}

  record(agentId: string, inv: AgentInventory): void {
    this.db
      .prepare(
        `INSERT INTO agent_inventory (agent_id, disks, vms, disk_paths, restore_paths, scanned_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(agent_id) DO UPDATE SET disks = excluded.disks, vms = excluded.vms, disk_paths = excluded.disk_paths, restore_paths = excluded.restore_paths, scanned_at = excluded.scanned_at`,
      )
      .run(agentId, JSON.stringify(inv.disks ?? []), JSON.stringify(inv.vms ?? []), JSON.stringify(inv.disk_paths ?? []), JSON.stringify(inv.restore_paths ?? []), this.now().toISOString());
  }

  get(agentId: string): (AgentInventory & { scanned_at: string }) | undefined {
    const r = this.db.prepare('SELECT * FROM agent_inventory WHERE agent_id = ?').get(agentId) as Raw | undefined;
    return r ? parse(r) : undefined;
  }

  vms(): VmView[] {
    const rows = (this.db.prepare('SELECT * FROM agent_inventory ORDER BY scanned_at').all() as Raw[]).map((r) => ({ agent: r.agent_id, inv: parse(r) }));
    const byId = new Map<string, VmView>();
    for (const { agent, inv } of rows) for (const vm of inv.vms) byId.set(vm.uuid, { ...vm, id: vm.uuid, agent_id: agent, scanned_at: inv.scanned_at });
    return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  vm(id: string): VmView {
    const vm = this.vms().find((v) => v.id === id.toLowerCase() || v.name === id);
    if (!vm) throw notFound('vm', id);
    return vm;
  }
}

function parse(r: Raw): AgentInventory & { scanned_at: string } {
  return {
    disks: JSON.parse(r.disks) as DiskEntry[],
    vms: JSON.parse(r.vms) as VmDefinition[],
    disk_paths: JSON.parse(r.disk_paths) as string[],
    restore_paths: JSON.parse(r.restore_paths) as string[],
    scanned_at: r.scanned_at,
  };
}
