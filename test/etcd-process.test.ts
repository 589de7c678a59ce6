import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it } from 'vitest';

import { etcdAvailable, startEtcd } from './helpers/etcd-process.js';

const describeEtcd = etcdAvailable() ? describe : describe.skip;

describeEtcd('etcd test helper', () => {
  const clients: Etcd3[] = [];
  afterAll(() => clients.forEach((client) => client.close()));

  it('serves on ephemeral loopback ports and keeps its data across a kill -9 and restart', async () => {
    const etcd = await startEtcd();
    expect(etcd.endpoint).toMatch(/^etcd:\/\/127\.0\.0\.1:\d+$/);
    const client = new Etcd3({ hosts: `http://${etcd.address}` });
    clients.push(client);
    await client.put('/helper-test/key').value('kept');

    await etcd.kill();
    expect(etcd.isRunning).toBe(false);
    await etcd.restart();
    expect(await client.get('/helper-test/key').string()).toBe('kept');
    await etcd.stop();
  });
});
