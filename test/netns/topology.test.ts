import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topology, run } from './lib/netns.js';

test('topology helper builds hosts on a switch, carries traffic, and removes everything', async () => {
  const t = new Topology('topo');
  try {
    const plug = await t.addSwitch('sw');
    await t.addHosts('a', 'b');
    await plug('a', 'eth0');
    await plug('b', 'eth0');
    await t.addr('a', 'eth0', '198.18.0.1/24');
    await t.addr('b', 'eth0', '198.18.0.2/24');
    const r = await t.exec('a', ['ping', '-c', '1', '-W', '2', '198.18.0.2']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  } finally {
    await t.cleanup();
  }
  const left = (await run('ip', ['netns', 'list'])).stdout;
  assert.ok(!left.includes(t.prefix), `namespaces left behind: ${left}`);
});
