/**
 * One lvsd–keepalived interop run: real keepalived (Debian's) on d1, the lvsd daemon on d2,
 * both given the same keepalived.conf (version, authentication, multicast or unicast). Each takes over from
 * the other, in both directions, and neither reports a packet error.
 */
import assert from 'node:assert/strict';
import { waitFor } from '../../lib/netns.js';
import { vrrpConf } from './conf.js';
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

/** The configuration both daemons get (the router_id aside). */
function conf(c: InteropCase, priority: number, routerId: string): string {
  return vrrpConf({
    routerId,
    global: ['vrrp_garp_master_delay 1'],
    instances: [{
      name: 'VI_1', priority, vrid: 51, version: c.version, advertInt: 1, password: c.password,
      unicastSrc: c.unicast ? (routerId === 'kd1' ? KD : LV) : null, unicastPeers: c.unicast ? [routerId === 'kd1' ? LV : KD] : [],
      vips: vipsOf(c), extra: c.unicast ? ['check_unicast_src'] : [],
    }],
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
  const kd = lab.startKeepalived('d1', conf(c, 100, 'kd1'));
  await kd.waitLog(/\(VI_1\) Entering MASTER STATE/, 10000);
  await waitFor(async () => (await lab.addresses('d1')).includes(VIP), 3000, 20, 'VIP on keepalived');
  // 2. lvsd (150) preempts keepalived (100)
  let lv = lab.startLvsd('d2', conf(c, 150, 'lvsd2'));
  const pre = await lv.waitEvent(to('MASTER'), 20000, 'lvsd preempts keepalived');
  assert.equal(pre.reason, 'preempt');
  await kd.waitLog(new RegExp(`Master received advert from ${c.ipv6 ? 'fe80:\\S+' : LV.replaceAll('.', '\\.')} with higher priority 150, ours 100`), 3000);
  await kd.waitLog(/\(VI_1\) Entering BACKUP STATE$/, 3000);
  await waitFor(async () => !(await lab.addresses('d1')).includes(VIP), 3000, 20, 'keepalived released the VIP');
  assert.ok((await lab.addresses('d2')).includes(VIP));
  // 3. clean stop of lvsd: priority 0, keepalived takes over after its skew
  const before = kd.out.lines.length;
  lv.child.kill('SIGTERM');
  const stop = await lv.waitEvent(to('STOP'), 5000, 'lvsd stopping');
  const kdMaster = await kd.waitLog(/\(VI_1\) Entering MASTER STATE/, 3000, before).then(() => Date.now());
  m.keepalivedTakesOverAfterLvsdPriorityZeroMs = kdMaster - stop.t;
  assert.ok(kdMaster - stop.t <= skewMs(c.version, 100, 1000) + 250, `keepalived took ${kdMaster - stop.t} ms`);
  await waitFor(() => lv.events().some((e) => e.type === 'daemon.stopped'), 10000, 20, 'lvsd exited');
  assert.deepEqual(drops(lv), [], 'lvsd dropped none of keepalived\'s adverts');
  // 4. lvsd (50) joins as BACKUP; keepalived stops: lvsd takes over after its skew
  lv = lab.startLvsd('d2', conf(c, 50, 'lvsd2'));
  await lv.waitEvent(to('BACKUP'), 20000, 'lvsd BACKUP');
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
  await waitFor(() => lv.events().some((e) => e.type === 'daemon.stopped'), 10000, 20, 'lvsd exited');
  return m;
}
