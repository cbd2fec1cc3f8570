/**
 * ARCHITECTURE D4 at start, with the real daemon: every configured VIP present as a kernel
 * address is removed before anything else starts (before the forwarding core), each with a
 * log line: a kernel VIP a crashed run left, and a core VIP (a virtual_server address, which
 * must never be a kernel address) as keepalived leaves it on a node being migrated. Other
 * addresses stay. Once MASTER, the kernel VIP is back as a kernel address; the core VIP is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canUseNetns, waitFor } from '../lib/netns.js';
import { SUBNET, VIP, VrrpLab } from './lib/lab.js';
import { vrrpConf } from './lib/conf.js';

const CORE_VIP = `${SUBNET}.120`;
const OTHER = `${SUBNET}.77`;

test('start: stale kernel and core VIPs are removed first and logged; the core VIP never comes back as a kernel address', { skip: !canUseNetns() && 'needs root and iproute2' }, async () => {
  const lab = await VrrpLab.create();
  try {
    await lab.topo.addr('d1', 'eth0', `${VIP}/24`);
    await lab.topo.addr('d1', 'eth0', `${CORE_VIP}/32`);
    await lab.topo.addr('d1', 'eth0', `${OTHER}/24`);
    const conf = vrrpConf({ routerId: 'd1', instances: [{ name: 'VI_1', priority: 150, vips: [`${VIP}/24`, `${CORE_VIP}/24`] }] }) + [
      `virtual_server ${CORE_VIP} 80 {`, '  protocol TCP', '  lb_algo rr', '  lb_kind DR',
      `  real_server ${SUBNET}.50 80 {`, '    weight 1', '  }', '}', '',
    ].join('\n');
    const d1 = lab.startLvsd('d1', conf);
    const stale = (addr: string) => (e: Record<string, unknown>) => e.type === 'log' && e.stale === true && e.address === addr;
    const k = await d1.waitEvent(stale(VIP), 20000, 'stale kernel VIP removed');
    const c = await d1.waitEvent(stale(CORE_VIP), 20000, 'stale core VIP removed');
    assert.equal(k.owner, 'kernel');
    assert.equal(c.owner, 'core');
    assert.match(String(c.msg), /a kernel address although the forwarding core serves it/);
    await d1.waitEvent((e) => e.type === 'forward.started', 20000, 'forwarding core started');
    const lines = d1.events();
    const at = (pred: (e: Record<string, unknown>) => boolean) => lines.findIndex(pred);
    assert.ok(at(stale(CORE_VIP)) >= 0 && at(stale(CORE_VIP)) < at((e) => e.type === 'forward.started'), 'cleanup logged before the forwarding core started');
    const addrs = await lab.addresses('d1');
    assert.ok(!addrs.includes(CORE_VIP), 'core VIP is no kernel address');
    assert.ok(addrs.includes(OTHER), 'an address that is no VIP stays');
    await d1.waitEvent((e) => e.type === 'vrrp.transition' && e.to === 'MASTER', 20000, 'd1 MASTER');
    await waitFor(async () => (await lab.addresses('d1')).includes(VIP), 3000, 20, 'kernel VIP back on the MASTER');
    assert.ok(!(await lab.addresses('d1')).includes(CORE_VIP), 'the core VIP is served by the core, not the kernel');
    d1.child.kill('SIGTERM');
    await d1.waitEvent((e) => e.type === 'daemon.stopped', 10000, 'd1 stopped');
  } finally {
    await lab.cleanup();
  }
});
