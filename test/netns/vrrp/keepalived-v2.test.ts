/**
 * lvsd with real keepalived (Debian's /usr/sbin/keepalived) as its VRRP peer, VRRPv2 with
 * simple password authentication (longer than 8 characters, which both truncate), over
 * multicast and over unicast peers: each takes over from the other in both roles and
 * neither reports a packet error.
 */
import { test } from 'node:test';
import { canUseNetns } from '../lib/netns.js';
import { VrrpLab } from './lib/lab.js';
import { runInterop } from './lib/interop.js';

for (const unicast of [false, true]) {
  test(`keepalived interop: VRRPv2, auth_type PASS, ${unicast ? 'unicast' : 'multicast'}`, { skip: !canUseNetns() && 'needs root and iproute2' }, async () => {
    const lab = await VrrpLab.create();
    try {
      const m = await runInterop(lab, { version: 2, password: 'secret12345', unicast });
      process.stdout.write(`VRRP_MEASURE keepalived-v2-${unicast ? 'unicast' : 'multicast'} ${JSON.stringify(m)}\n`);
    } finally {
      await lab.cleanup();
    }
  });
}
