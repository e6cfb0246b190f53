import { describe, expect, it } from 'vitest';
import { pathAllowed } from '../../../node-agent/src/disks/path-policy.ts';
import { parseDomainXml } from '../../../node-agent/src/inventory/libvirt.ts';

const DOMAIN = `<domain type='kvm'>
  <name>web01</name>
  <uuid>6F1C2A3B-0000-4000-8000-0123456789AB</uuid>
  <memory unit='KiB'>2097152</memory>
  <vcpu placement='static'>2</vcpu>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/libvirt/images/web01.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <!-- <disk type='file' device='disk'><source file='/old.img'/><target dev='vdz'/></disk> -->
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/vg0/web01-data'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:cc'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:dd:ee:ff'/>
      <source bridge='br0'/>
    </interface>
  </devices>
</domain>`;

describe('libvirt domain XML', () => {
  it('reads name, UUID, disks and networks, skipping commented-out devices', () => {
    const vm = parseDomainXml(DOMAIN, '/etc/libvirt/qemu/web01.xml')!;
    expect(vm).toMatchObject({ name: 'web01', uuid: '6f1c2a3b-0000-4000-8000-0123456789ab', memory_kib: 2097152, vcpus: 2 });
    expect(vm.disks).toEqual([
      { target: 'vda', path: '/var/lib/libvirt/images/web01.img', type: 'file', device: 'disk', format: 'raw' },
      { target: 'vdb', path: '/dev/vg0/web01-data', type: 'block', device: 'disk', format: 'raw' },
      { target: 'sda', path: null, type: 'file', device: 'cdrom', format: null },
    ]);
    expect(vm.networks).toEqual([
      { mac: '52:54:00:aa:bb:cc', type: 'network', source: 'default', model: 'virtio' },
      { mac: '52:54:00:dd:ee:ff', type: 'bridge', source: 'br0', model: null },
    ]);
  });

  it('ignores files that are not domain definitions', () => {
    expect(parseDomainXml('<network><name>default</name></network>')).toBeNull();
  });
});

describe('agent path policy', () => {
  it('allows globs and folders, and refuses what .. or a sibling prefix reaches', () => {
    const allowed = ['/var/lib/libvirt/images/*.img', '/srv/restore'];
    expect(pathAllowed('/var/lib/libvirt/images/a.img', allowed)).toBe(true);
    expect(pathAllowed('/var/lib/libvirt/images/sub/a.img', allowed)).toBe(false);
    expect(pathAllowed('/var/lib/libvirt/images/../secret.img', allowed)).toBe(false);
    expect(pathAllowed('/srv/restore/x/y.img', allowed)).toBe(true);
    expect(pathAllowed('/srv/restore-other/y.img', allowed)).toBe(false);
    expect(pathAllowed('relative.img', allowed)).toBe(false);
    expect(pathAllowed('/srv/restore/a.img', [])).toBe(false);
  });
});
