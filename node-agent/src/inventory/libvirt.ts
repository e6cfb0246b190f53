import fs from 'node:fs/promises';
import path from 'node:path';

export interface VmDisk {
  /** Guest device name, e.g. "vda". */
  target: string | null;
  /** Image file or block device on the host. */
  path: string | null;
  /** "file" | "block" | "network" | ... as libvirt says. */
  type: string | null;
  device: string | null;
  /** Driver format: "raw", "qcow2", ... */
  format: string | null;
}

export interface VmNetwork {
  mac: string | null;
  type: string | null;
  /** Network name, bridge or device it is attached to. */
  source: string | null;
  model: string | null;
}

export interface VmDefinition {
  uuid: string;
  name: string;
  memory_kib: number | null;
  vcpus: number | null;
  disks: VmDisk[];
  networks: VmNetwork[];
  definition_file: string;
}

function attr(tag: string, name: string): string | null {
  const m = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(tag);
  return m ? unescapeXml(m[1] ?? m[2] ?? '') : null;
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function text(xml: string, tag: string): string | null {
  const m = new RegExp(`<${tag}\\b[^>]*>([^<]*)</${tag}>`).exec(xml);
  return m ? unescapeXml(m[1]!.trim()) : null;
}

function firstTag(xml: string, tag: string): string | null {
  const m = new RegExp(`<${tag}\\b[^>]*/?>`).exec(xml);
  return m ? m[0] : null;
}

/** Elements `<tag ...>...</tag>` (or self-closed) at any depth, as raw text. */
function elements(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}\\b[^>]*?(?:/>|>[\\s\\S]*?</${tag}>)`, 'g');
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[0]);
  return out;
}

/**
 * Reads the parts of a libvirt domain definition Ferry needs (name, UUID, disks, networks).
 * Domain XML as libvirt writes it is regular enough that a few patterns suffice; comments are
 * dropped first so a commented-out disk is not reported.
 */
export function parseDomainXml(xml: string, file = ''): VmDefinition | null {
  const clean = xml.replace(/<!--[\s\S]*?-->/g, '');
  if (!/<domain\b/.test(clean)) return null;
  const name = text(clean, 'name');
  const uuid = text(clean, 'uuid');
  if (!name || !uuid) return null;
  const devices = /<devices\b[^>]*>([\s\S]*?)<\/devices>/.exec(clean)?.[1] ?? '';
  const disks = elements(devices, 'disk').map((d) => {
    const open = /^<disk\b[^>]*>/.exec(d)?.[0] ?? d;
    const src = firstTag(d, 'source');
    return {
      target: attr(firstTag(d, 'target') ?? '', 'dev'),
      path: src ? (attr(src, 'file') ?? attr(src, 'dev') ?? attr(src, 'name')) : null,
      type: attr(open, 'type'),
      device: attr(open, 'device'),
      format: attr(firstTag(d, 'driver') ?? '', 'type'),
    };
  });
  const networks = elements(devices, 'interface').map((n) => {
    const open = /^<interface\b[^>]*>/.exec(n)?.[0] ?? n;
    const src = firstTag(n, 'source');
    return {
      mac: attr(firstTag(n, 'mac') ?? '', 'address'),
      type: attr(open, 'type'),
      source: src ? (attr(src, 'network') ?? attr(src, 'bridge') ?? attr(src, 'dev')) : null,
      model: attr(firstTag(n, 'model') ?? '', 'type'),
    };
  });
  const mem = text(clean, 'memory');
  const unit = attr(firstTag(clean, 'memory') ?? '', 'unit') ?? 'KiB';
  const factor: Record<string, number> = { b: 1 / 1024, bytes: 1 / 1024, KiB: 1, k: 1, MiB: 1024, M: 1024, GiB: 1024 * 1024, G: 1024 * 1024 };
  const vcpu = text(clean, 'vcpu');
  return {
    uuid: uuid.toLowerCase(),
    name,
    memory_kib: mem ? Math.round(Number(mem) * (factor[unit] ?? 1)) : null,
    vcpus: vcpu ? Number(vcpu) : null,
    disks,
    networks,
    definition_file: file,
  };
}

/** Every domain definition (`*.xml`) in `dir`; unreadable or foreign files are skipped. */
export async function scanLibvirtDir(dir: string): Promise<VmDefinition[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const out: VmDefinition[] = [];
  for (const n of names.filter((x) => x.endsWith('.xml')).sort()) {
    const file = path.join(dir, n);
    try {
      const vm = parseDomainXml(await fs.readFile(file, 'utf8'), file);
      if (vm) out.push(vm);
    } catch {
      // not readable: not ours to report
    }
  }
  return out;
}
