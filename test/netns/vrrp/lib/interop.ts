/**
 * One lvsd–keepalived interop run: real keepalived (Debian's) on d1, the lvsd daemon on d2,
 * both given the same keepalived.conf (version, authentication, multicast or unicast). Each takes over from
 * the other, in both directions, and neither reports a packet error.
 */
import assert from 'node:assert/strict';
import { waitFor } from '../../lib/netns.js';
import { vrrpConf } from './conf.js';
import { KEEPALIVED_RX_ERRORS, SUBNET, VIP, VrrpLab, type KeepalivedProc, type LvsdProc } from './lab.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { masterDownIntervalMs, skewMs } from '../../../../src/vrrp/machine.js';
import { lvsadmMain } from '../../../../src/cli/lvsadm.js';
import type { VrrpStatus } from '../../../../src/vrrp/status.js';

export interface InteropCase {
  readonly version: 2 | 3;
  readonly password: string | null;
  readonly unicast: boolean;
  /** IPv6 (VRRPv3 over ff02::12 from the link-local addresses); default IPv4. */
  readonly ipv6?: boolean;
  /** Extra vrrp_instance lines for both daemons (e.g. `old_unicast_checksum`). */
  readonly extra?: readonly string[];
  /** Extra vrrp_instance lines for keepalived only / lvsd only. */
  readonly keepalivedExtra?: readonly string[];
  readonly lvsdExtra?: readonly string[];
  /** An event each lvsd run must log (checked before it stops). */
  readonly lvsdMustLog?: { readonly what: string; readonly pred: (e: Record<string, unknown>) => boolean };
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
export function interopConf(c: InteropCase, priority: number, routerId: string, advertInt = 1): string {
  const own = routerId === 'kd1' ? c.keepalivedExtra ?? [] : c.lvsdExtra ?? [];
  return vrrpConf({
    routerId,
    global: ['vrrp_garp_master_delay 1'],
    instances: [{
      name: 'VI_1', priority, vrid: 51, version: c.version, advertInt, password: c.password,
      unicastSrc: c.unicast ? (routerId === 'kd1' ? KD : LV) : null, unicastPeers: c.unicast ? [routerId === 'kd1' ? LV : KD] : [],
      vips: vipsOf(c), extra: [...(c.unicast ? ['check_unicast_src'] : []), ...(c.extra ?? []), ...own],
    }],
  });
}
const conf = interopConf;

const to = (state: string) => (e: Record<string, unknown>) => e.type === 'vrrp.transition' && e.to === state;

function drops(p: LvsdProc): Array<Record<string, unknown>> {
  return p.events().filter((e) => e.type === 'vrrp.packet_dropped');
}

/** keepalived's receive errors (its log). */
export function rxErrors(k: KeepalivedProc): string[] {
  return k.out.lines.filter((l) => KEEPALIVED_RX_ERRORS.test(l));
}

/**
 * lvsd dropped nothing: no vrrp.packet_dropped event (the lab logs at debug level), and every
 * drop counter `lvsadm vrrp --json` shows, per instance and per socket, is 0. Call it while
 * the daemon runs.
 */
export async function assertNoLvsdDrops(p: LvsdProc, what: string): Promise<void> {
  assert.deepEqual(drops(p), [], `${what}: lvsd logged no dropped packet`);
  let text = '';
  const rc = await lvsadmMain(['--control', p.control, '--json', 'vrrp'], (s) => (text += s), (s) => (text += s));
  assert.equal(rc, 0, text);
  const st = JSON.parse(text) as VrrpStatus;
  const nonZero = [
    ...st.instances.flatMap((i) => Object.entries(i.counters.drops).filter(([, n]) => n > 0).map(([r, n]) => `${i.name}.${r}=${n}`)),
    ...st.channels.flatMap((c) => Object.entries(c.drops).filter(([, n]) => n > 0).map(([r, n]) => `${c.interface}.${r}=${n}`)),
  ];
  assert.deepEqual(nonZero, [], `${what}: lvsd drop counters`);
  assert.ok(st.instances.every((i) => i.counters.advertsReceived > 0), `${what}: lvsd received adverts`);
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
  await assertNoLvsdDrops(lv, 'lvsd MASTER over keepalived');
  if (c.lvsdMustLog) assert.ok(lv.events().some(c.lvsdMustLog.pred), `lvsd MASTER: ${c.lvsdMustLog.what}`);
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
  await assertNoLvsdDrops(lv, 'lvsd BACKUP under keepalived');
  if (c.lvsdMustLog) assert.ok(lv.events().some(c.lvsdMustLog.pred), `lvsd BACKUP: ${c.lvsdMustLog.what}`);
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

/** How late after Master_Down_Interval a takeover may come (timers, logging, two busy cores). */
export const TAKEOVER_MARGIN_MS = 100;

/** A crash case: the MASTER advertises every masterIntS, the BACKUP is configured with backupIntS (v3 learns the master's). */
export interface CrashCase extends InteropCase {
  readonly masterIntS: number;
  readonly backupIntS: number;
}

/**
 * Kills keepalived without a goodbye: the VRRP child first (keepalived's parent would
 * otherwise respawn it, or let it send priority 0), the parent held stopped meanwhile. By PID.
 */
async function crashKeepalived(lab: VrrpLab, host: string, k: KeepalivedProc): Promise<number> {
  const vrrpPid = Number(readFileSync(join(lab.dir, `${host}-vrrp.pid`), 'utf8').trim());
  assert.ok(Number.isInteger(vrrpPid) && vrrpPid > 1, `vrrp child pid ${vrrpPid}`);
  k.child.kill('SIGSTOP');
  const at = Date.now();
  process.kill(vrrpPid, 'SIGKILL');
  k.child.kill('SIGKILL');
  await waitFor(() => k.child.exitCode !== null || k.child.signalCode !== null, 5000, 10, 'keepalived gone');
  return at;
}

/**
 * SIGKILL of the MASTER in both directions, so the BACKUP takes over only when its
 * Master_Down_Timer fires: 3 × the MASTER's advert interval + the BACKUP's skew (RFC 5798
 * §6.1; a VRRPv3 BACKUP learns the interval from the adverts, §6.4.2), plus TAKEOVER_MARGIN_MS.
 * 1. lvsd MASTER (150) with keepalived BACKUP (100); lvsd is killed; keepalived takes over.
 * 2. keepalived MASTER (150) with lvsd BACKUP (100); keepalived is killed; lvsd takes over.
 * Neither side logs a packet error; lvsd's drop counters stay 0. Returns the measured times.
 */
export async function runCrashInterop(lab: VrrpLab, c: CrashCase): Promise<Record<string, number>> {
  const m: Record<string, number> = {};
  const VIP = probeVip(c);
  const masterMs = c.masterIntS * 1000;
  const learned = c.version === 3 ? masterMs : c.backupIntS * 1000;
  const bound = masterDownIntervalMs(c.version, 100, learned) + TAKEOVER_MARGIN_MS;
  const floor = masterDownIntervalMs(c.version, 100, learned) - learned; // a later advert could have been the last one
  m.boundMs = bound;

  // 1. lvsd MASTER, keepalived BACKUP; SIGKILL lvsd
  const lv = lab.startLvsd('d2', interopConf(c, 150, 'lvsd2', c.masterIntS));
  await lv.waitEvent(to('MASTER'), 20000, 'lvsd MASTER alone');
  const kd = lab.startKeepalived('d1', interopConf(c, 100, 'kd1', c.backupIntS));
  await kd.waitLog(/\(VI_1\) Entering BACKUP STATE/, 10000);
  await new Promise((r) => setTimeout(r, Math.max(2000, 6 * masterMs)));
  if (c.version === 3 && c.masterIntS !== c.backupIntS) {
    // keepalived --log-detail: "(VI_1) advertisement interval updated from 1000ms to 200ms by master"
    assert.ok(kd.out.lines.some((l) => new RegExp(`advertisement interval updated (from \\d+ ?ms )?to ${masterMs} ?m`).test(l)), 'keepalived learned the master\'s interval');
  }
  assert.ok(!kd.out.lines.some((l) => /Entering MASTER STATE/.test(l)), 'keepalived stays BACKUP under lvsd');
  assert.deepEqual(drops(lv), [], 'lvsd dropped nothing');
  const from1 = kd.out.lines.length;
  const kill1 = Date.now();
  lv.child.kill('SIGKILL');
  await kd.waitLog(/\(VI_1\) Entering MASTER STATE/, bound + 3000, from1);
  m.keepalivedTakesOverAfterLvsdSigkillMs = Date.now() - kill1;
  assert.ok(m.keepalivedTakesOverAfterLvsdSigkillMs <= bound, `keepalived took ${m.keepalivedTakesOverAfterLvsdSigkillMs} ms, bound ${bound}`);
  assert.ok(m.keepalivedTakesOverAfterLvsdSigkillMs >= floor, `keepalived took ${m.keepalivedTakesOverAfterLvsdSigkillMs} ms: sooner than its down timer (${floor})`);
  await waitFor(async () => (await lab.addresses('d1')).includes(VIP), 3000, 20, 'VIP on keepalived');
  assert.deepEqual(rxErrors(kd), [], 'keepalived logged no receive error');
  await lab.topo.kill(kd.child, 'SIGTERM');
  // the killed lvsd left its kernel VIP behind: the next lvsd removes it first (stale cleanup)

  // 2. keepalived MASTER, lvsd BACKUP; SIGKILL keepalived
  const kd2 = lab.startKeepalived('d1', interopConf(c, 150, 'kd1', c.masterIntS));
  await kd2.waitLog(/\(VI_1\) Entering MASTER STATE/, 15000);
  const lv2 = lab.startLvsd('d2', interopConf(c, 100, 'lvsd2', c.backupIntS));
  await lv2.waitEvent(to('BACKUP'), 20000, 'lvsd BACKUP');
  await new Promise((r) => setTimeout(r, Math.max(2000, 6 * masterMs)));
  let text = '';
  assert.equal(await lvsadmMain(['--control', lv2.control, '--json', 'vrrp'], (s) => (text += s), (s) => (text += s)), 0, text);
  const st = (JSON.parse(text) as VrrpStatus).instances[0]!;
  assert.equal(st.state, 'BACKUP');
  assert.equal(st.masterAdverIntervalMs, learned, 'lvsd BACKUP uses the master\'s interval');
  await assertNoLvsdDrops(lv2, 'lvsd BACKUP under keepalived');
  const kill2 = await crashKeepalived(lab, 'd1', kd2);
  const took = await lv2.waitEvent((e) => to('MASTER')(e) && e.t >= kill2 - 5, bound + 3000, 'lvsd takes over from the killed keepalived');
  assert.equal(took.reason, 'master_down_timer');
  m.lvsdTakesOverAfterKeepalivedSigkillMs = took.t - kill2;
  assert.ok(m.lvsdTakesOverAfterKeepalivedSigkillMs <= bound, `lvsd took ${m.lvsdTakesOverAfterKeepalivedSigkillMs} ms, bound ${bound}`);
  assert.ok(m.lvsdTakesOverAfterKeepalivedSigkillMs >= floor, `lvsd took ${m.lvsdTakesOverAfterKeepalivedSigkillMs} ms: sooner than its down timer (${floor})`);
  await waitFor(async () => (await lab.addresses('d2')).includes(VIP), 3000, 20, 'VIP on lvsd');
  assert.deepEqual(rxErrors(kd2), [], 'keepalived logged no receive error');
  lv2.child.kill('SIGTERM');
  await waitFor(() => lv2.events().some((e) => e.type === 'daemon.stopped'), 10000, 20, 'lvsd exited');
  return m;
}
