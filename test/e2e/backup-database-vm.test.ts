import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/test-hub.ts';
import { client } from '../integration/backup/api-client.ts';
import { makeImage, sha256File } from '../integration/backup/disk-image.ts';

const psql = (db: string, sql: string) => execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-XAtq', '-d', db, '-c', sql], { encoding: 'utf8' }).trim();

describe('database and VM backups through the REST API with the built-in agent', () => {
  let h: TestHub;
  let api: ReturnType<typeof client>;
  let root: string;
  let agentId: string;
  const src = `ferry_t_${randomBytes(4).toString('hex')}`;
  const dst = `ferry_t_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-backup-dbvm-'));
    await fs.mkdir(path.join(root, 'images'));
    await fs.mkdir(path.join(root, 'libvirt'));
    await fs.mkdir(path.join(root, 'restore'));
    const img = path.join(root, 'images', 'web01.img');
    await makeImage(img, 3, 42);
    await fs.writeFile(
      path.join(root, 'libvirt', 'web01.xml'),
      `<domain type='kvm'><name>web01</name><uuid>0b7e1c9a-1111-4222-8333-444455556666</uuid><memory unit='KiB'>1048576</memory><vcpu>1</vcpu>
       <devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${img}'/><target dev='vda' bus='virtio'/></disk>
       <interface type='network'><mac address='52:54:00:01:02:03'/><source network='default'/><model type='virtio'/></interface></devices></domain>`,
    );
    psql('postgres', `CREATE DATABASE ${src}`);
    psql(src, `CREATE TABLE orders (id int PRIMARY KEY, note text, amount numeric(12,2)); INSERT INTO orders SELECT g, md5(g::text), g * 1.25 FROM generate_series(1, 20000) g;`);
    // The built-in agent inherits the hub's environment; this test file runs in its own process.
    process.env.FERRY_AGENT_LIBVIRT_DIR = path.join(root, 'libvirt');
    h = await startTestHub({ listen: true, builtin: true, env: { FERRY_AGENT_DISK_PATHS: path.join(root, 'images'), FERRY_AGENT_RESTORE_PATHS: path.join(root, 'restore') } });
    api = client(h);
    agentId = await api.builtinAgent();
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
    delete process.env.FERRY_AGENT_LIBVIRT_DIR;
    for (const db of [src, dst]) psql('postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await fs.rm(root, { recursive: true, force: true });
  });

  it('lists the libvirt VM with its agent, backs it up by vm_id and restores its disk', async () => {
    const vms = await api.call('GET', '/api/v1/vms?refresh=true');
    expect(vms.status).toBe(200);
    const vm = (vms.body.data as { id: string; name: string; agent_id: string; disks: { target: string }[]; networks: { mac: string }[] }[]).find((v) => v.name === 'web01');
    expect(vm).toMatchObject({ id: '0b7e1c9a-1111-4222-8333-444455556666', agent_id: agentId, disks: [{ target: 'vda' }], networks: [{ mac: '52:54:00:01:02:03' }] });
    expect((await api.call('GET', `/api/v1/vms/${vm!.id}`)).body.name).toBe('web01');

    const b = await api.backup({ vm_id: vm!.id, type: 'full' });
    expect(b.backup).toMatchObject({ status: 'completed', source_type: 'vm_disk', vm_id: vm!.id, disk: 'vda' });
    const chain = await api.call('GET', `/api/v1/backups/chain?vm_id=${vm!.id}`);
    expect((chain.body.backups as { id: string }[]).map((x) => x.id)).toEqual([b.backup.id]);
    const target = path.join(root, 'restore', 'web01.img');
    expect((await api.restore(String(b.backup.id), { agent_id: agentId, path: target })).status).toBe('completed');
    expect(await sha256File(target)).toBe(await sha256File(path.join(root, 'images', 'web01.img')));
  }, 60_000);

  it('backs up a PostgreSQL database with pg_dump and restores it into a new database', async () => {
    const conn = await api.call('POST', '/api/v1/connections', { name: 'src', type: 'postgresql', host: '127.0.0.1', port: 5432, user: 'postgres', database: src });
    expect(conn.status).toBe(201);
    const first = await api.backup({ source: { connection_id: conn.body.id }, type: 'full' });
    expect(first.backup).toMatchObject({ status: 'completed', source_type: 'database', format: 'custom' });
    expect(Number(first.backup.size_bytes)).toBeGreaterThan(100_000);
    // A second dump of an unchanged database deduplicates almost entirely.
    const second = await api.backup({ source: { connection_id: conn.body.id }, type: 'incremental' });
    expect(second.backup.status).toBe('completed');
    expect(Number(second.backup.uploaded_bytes)).toBeLessThan(Number(first.backup.uploaded_bytes) / 4);

    const target = await api.call('POST', '/api/v1/connections', { name: 'dst', type: 'postgresql', host: '127.0.0.1', port: 5432, user: 'postgres', database: dst });
    const r = await api.restore(String(second.backup.id), { connection_id: target.body.id });
    expect(r.status).toBe('completed');
    expect(psql(dst, 'SELECT count(*), sum(amount), md5(string_agg(note, \',\' ORDER BY id)) FROM orders')).toBe(psql(src, 'SELECT count(*), sum(amount), md5(string_agg(note, \',\' ORDER BY id)) FROM orders'));
    // Restoring again into the now non-empty database is refused.
    const again = await api.restore(String(second.backup.id), { connection_id: target.body.id });
    expect(again.status).toBe('failed');
    expect((again.error as { code: string }).code).toBe('restore_target_not_empty');
  }, 90_000);
});
