/**
 * keepalived's old unicast VRRPv3 checksum (`old_unicast_checksum`: the pseudo-header
 * carries the multicast group instead of the peer; Debian's 2.2.7 is built with
 * OLD_CHKSUM_COMPAT) against lvsd, unicast VRRPv3: configured on both sides; and on
 * keepalived only, where lvsd (keyword absent: auto) switches to the old form on the first
 * advert and says so. Each takes over from the other in both roles; no drops, no keepalived
 * receive errors. (`v3_checksum_as_v2` came with keepalived 2.2.8, so Debian's 2.2.7 cannot
 * be its peer: the codec tests check it byte for byte instead.)
 */
import { test } from 'node:test';
import { canUseNetns } from '../lib/netns.js';
import { VrrpLab } from './lib/lab.js';
import { runInterop, type InteropCase } from './lib/interop.js';

const switched = { what: 'switched to the old unicast checksum', pred: (e: Record<string, unknown>) => e.type === 'log' && e.unicast_checksum === 'old' };

const cases: Array<[string, InteropCase]> = [
  ['old_unicast_checksum on both', { version: 3, password: null, unicast: true, extra: ['old_unicast_checksum'] }],
  ['old_unicast_checksum on keepalived, auto on lvsd', { version: 3, password: null, unicast: true, keepalivedExtra: ['old_unicast_checksum'], lvsdMustLog: switched }],
];

for (const [name, c] of cases) {
  test(`keepalived interop, VRRPv3 unicast: ${name}`, { skip: !canUseNetns() && 'needs root and iproute2' }, async () => {
    const lab = await VrrpLab.create();
    try {
      const m = await runInterop(lab, c);
      process.stdout.write(`VRRP_MEASURE keepalived-old-unicast-checksum ${JSON.stringify(m)}\n`);
    } finally {
      await lab.cleanup();
    }
  });
}
