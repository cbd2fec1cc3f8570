/**
 * lvsd with real keepalived over IPv6: VRRPv3 to ff02::12 from the link-local addresses
 * (lvsd sends on a raw IPv6 socket and receives through AF_PACKET to see the hop limit),
 * each taking over from the other, no packet errors on either side.
 */
import { test } from 'node:test';
import { canUseNetns } from '../lib/netns.js';
import { VrrpLab } from './lib/lab.js';
import { runInterop } from './lib/interop.js';

test('keepalived interop: VRRPv3 over IPv6, multicast', { skip: !canUseNetns() && 'needs root and iproute2' }, async () => {
  const lab = await VrrpLab.create();
  try {
    await lab.linkLocal('d1');
    await lab.linkLocal('d2');
    const m = await runInterop(lab, { version: 3, password: null, unicast: false, ipv6: true });
    process.stdout.write(`VRRP_MEASURE keepalived-v3-ipv6 ${JSON.stringify(m)}\n`);
  } finally {
    await lab.cleanup();
  }
});
