/**
 * lvsd with real keepalived: a MASTER killed without a goodbye (SIGKILL) in both
 * directions; the BACKUP takes over when its Master_Down_Timer fires, within
 * Master_Down_Interval (from the MASTER's advert interval) + TAKEOVER_MARGIN_MS. Once at a
 * 1 s VRRPv2 interval with PASS authentication, once with a VRRPv3 MASTER advertising every
 * 200 ms to a BACKUP configured with 1 s, which must learn the 200 ms (RFC 5798 §6.4.2).
 * Neither side logs a packet error.
 */
import { test } from 'node:test';
import { canUseNetns } from '../lib/netns.js';
import { VrrpLab } from './lib/lab.js';
import { runCrashInterop, type CrashCase } from './lib/interop.js';

const cases: Array<[string, CrashCase]> = [
  ['VRRPv2 PASS, 1 s', { version: 2, password: 'secret', unicast: false, masterIntS: 1, backupIntS: 1 }],
  ['VRRPv3, MASTER 0.2 s, BACKUP configured 1 s', { version: 3, password: null, unicast: false, masterIntS: 0.2, backupIntS: 1 }],
];

for (const [name, c] of cases) {
  test(`keepalived interop, SIGKILL of the MASTER both ways: ${name}`, { skip: !canUseNetns() && 'needs root and iproute2' }, async () => {
    const lab = await VrrpLab.create();
    try {
      const m = await runCrashInterop(lab, c);
      process.stdout.write(`VRRP_MEASURE keepalived-crash-v${c.version}-${c.masterIntS}s ${JSON.stringify(m)}\n`);
    } finally {
      await lab.cleanup();
    }
  });
}
