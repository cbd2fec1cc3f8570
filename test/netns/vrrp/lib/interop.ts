/**
 * One lvsd–keepalived interop run: real keepalived (Debian's) on d1, lvsd on d2, both
 * configured alike (version, authentication, multicast or unicast). Each takes over from
 * the other, in both directions, and neither reports a packet error.
 */
import assert from 'node:assert/strict';
import { waitFor } from '../../lib/netns.js';
import { instance, model, vip } from '../../../integration/vrrp/lib/fixtures.js';
import { KEEPALIVED_RX_ERRORS, SUBNET, VIP, VrrpLab, type KeepalivedProc, type LvsdProc } from './lab.js';
import { skewMs } from '../../../../src/vrrp/machine.js';

export interface InteropCase {
  readonly version: 2 | 3;
  readonly password: string | null;
  readonly unicast: boolean;
  /** IPv6 (VRRPv3 over ff02::12 from the link-local addresses); default IPv4. */
  readonly ipv6?: boolean;
}

/** The VIPs of a case: one IPv4 VIP, or a link-local and a documentation IPv6 VIP. */
function vipsOf(c: InteropCase): string[] {
  return c.ipv6 ? ['fe80::51:1/64', '2001:db8:10::100/64'] : [`${VIP}/24`];
}

/** The address checked on the directors (the last VIP). */
function probeVip(c: InteropCase): string {
  return vipsOf(c).at(-1)!.split('/')[0]!;
}

const KD = `${SUBNET}.1`;
const LV = `${SUBNET}.2`;

function keepalivedConf(c: InteropCase, priority: number): string {
  return [
    'global_defs {',
    '  router_id kd1',
    '  vrrp_garp_master_delay 1',
    '}',
    'vrrp_instance VI_1 {',
    '  state BACKUP',
    '  interface eth0',
    '  virtual_router_id 51',
    `  priority ${priority}`,
    '  advert_int 1',
    `  version ${c.version}`,
    ...(c.password ? ['  authentication {', '    auth_type PASS', `    auth_pass ${c.password}`, '  }'] : []),
    ...(c.unicast ? [`  unicast_src_ip ${KD}`, '  unicast_peer {', `    ${LV}`, '  }'] : []),
    '  virtual_ipaddress {',
    ...vipsOf(c).map((v) => `    ${v}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

function lvsdModel(c: InteropCase, priority: number) {
  return model({
    instances: [instance('VI_1', {
      priority, vrid: 51, version: c.version, family: c.ipv6 ? 'ipv6' : 'ipv4', advertIntervalMs: 1000, vips: vipsOf(c).map((v) => vip(v)),
      auth: c.password ? { type: 'PASS', password: c.password } : null,
      unicastSrcIp: c.unicast ? LV : null, unicastPeers: c.unicast ? [KD] : [], checkUnicastSrc: c.unicast,
      garp: { masterDelayMs: 1000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioDelayMs: 1000, lowerPrioRepeat: 5, intervalMs: 0, gnaIntervalMs: 0 },
    })],
  });
}

const to = (state: string) => (e: Record<string, unknown>) => e.type === 'vrrp.transition' && e.to === state;

function drops(p: LvsdProc): Array<Record<string, unknown>> {
  return p.events().filter((e) => e.type === 'vrrp.packet_dropped');
}

function rxErrors(k: KeepalivedProc): string[] {
  return k.out.lines.filter((l) => KEEPALIVED_RX_ERRORS.test(l));
}

/** Runs the whole exchange; returns the measured takeover times. */
export async function runInterop(lab: VrrpLab, c: InteropCase): Promise<Record<string, number>> {
  const m: Record<string, number> = {};
  const VIP = probeVip(c);
  // 1. keepalived alone becomes MASTER
  const kd = lab.startKeepalived('d1', keepalivedConf(c, 100));
  await kd.waitLog(/\(VI_1\) Entering MASTER STATE/, 10000);
  await waitFor(async () => (await lab.addresses('d1')).includes(VIP), 3000, 20, 'VIP on keepalived');
  // 2. lvsd (150) preempts keepalived (100)
  let lv = lab.startLvsd('d2', lvsdModel(c, 150));
  const pre = await lv.waitEvent(to('MASTER'), 10000, 'lvsd preempts keepalived');
  assert.equal(pre.reason, 'preempt');
  await kd.waitLog(new RegExp(`Master received advert from ${c.ipv6 ? 'fe80:\\S+' : LV.replaceAll('.', '\\.')} with higher priority 150, ours 100`), 3000);
  await kd.waitLog(/\(VI_1\) Entering BACKUP STATE$/, 3000);
  await waitFor(async () => !(await lab.addresses('d1')).includes(VIP), 3000, 20, 'keepalived released the VIP');
  assert.ok((await lab.addresses('d2')).includes(VIP));
  // 3. clean stop of lvsd: priority 0, keepalived takes over after its skew
  const before = kd.out.lines.length;
  lv.child.kill('SIGTERM');
  const stop = await lv.waitEvent(to('STOP'), 3000, 'lvsd stopping');
  const kdMaster = await kd.waitLog(/\(VI_1\) Entering MASTER STATE/, 3000, before).then(() => Date.now());
  m.keepalivedTakesOverAfterLvsdPriorityZeroMs = kdMaster - stop.t;
  assert.ok(kdMaster - stop.t <= skewMs(c.version, 100, 1000) + 250, `keepalived took ${kdMaster - stop.t} ms`);
  await waitFor(() => lv.events().some((e) => e.type === 'harness.stopped'), 3000, 20, 'lvsd exited');
  assert.deepEqual(drops(lv), [], 'lvsd dropped none of keepalived\'s adverts');
  // 4. lvsd (50) joins as BACKUP; keepalived stops: lvsd takes over after its skew
  lv = lab.startLvsd('d2', lvsdModel(c, 50));
  await lv.waitEvent(to('BACKUP'), 8000, 'lvsd BACKUP');
  await new Promise((r) => setTimeout(r, 2500)); // hear a few adverts from keepalived
  const st = lv.events().filter((e) => e.type === 'vrrp.transition');
  assert.ok(!st.some((e) => e.to === 'MASTER'), 'lvsd stays BACKUP under keepalived');
  const killAt = Date.now();
  kd.child.kill('SIGTERM');
  const took = await lv.waitEvent(to('MASTER'), 5000, 'lvsd takes over from keepalived');
  assert.equal(took.reason, 'priority_zero');
  m.lvsdTakesOverAfterKeepalivedSigtermMs = took.t - killAt;
  assert.ok(took.t - killAt <= skewMs(c.version, 50, 1000) + 250, `lvsd took ${took.t - killAt} ms`);
  await waitFor(async () => (await lab.addresses('d2')).includes(VIP), 3000, 20, 'VIP on lvsd');
  assert.deepEqual(drops(lv), [], 'lvsd dropped none of keepalived\'s adverts');
  assert.deepEqual(rxErrors(kd), [], 'keepalived logged no receive error');
  lv.child.kill('SIGTERM');
  await waitFor(() => lv.events().some((e) => e.type === 'harness.stopped'), 3000, 20, 'lvsd exited');
  return m;
}
