/**
 * lvsd with real keepalived (Debian's /usr/sbin/keepalived) as its VRRP peer, VRRPv3
 * (checksum over the IPv4 pseudo-header, no authentication), over multicast and over
 * unicast peers: each takes over from the other in both roles and neither reports a
 * packet error.
 */
import { test } from 'node:test';
import { canUseNetns } from '../lib/netns.js';
import { VrrpLab } from './lib/lab.js';
import { runInterop } from './lib/interop.js';

for (const unicast of [false, true]) {
  test(`keepalived interop: VRRPv3, ${unicast ? 'unicast' : 'multicast'}`, { skip: !canUseNetns() && 'needs root and iproute2' }, async () => {
    const lab = await VrrpLab.create();
    try {
      const m = await runInterop(lab, { version: 3, password: null, unicast });
      process.stdout.write(`VRRP_MEASURE keepalived-v3-${unicast ? 'unicast' : 'multicast'} ${JSON.stringify(m)}\n`);
    } finally {
      await lab.cleanup();
    }
  });
}
