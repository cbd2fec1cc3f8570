/**
 * Two lvsd daemons (started from keepalived.conf files) on a bridge with a client that probes the VIP every 10 ms (UDP echo served by each director
 * on the kernel VIP). Proves: the higher priority becomes MASTER; `lvsadm vrrp` shows it; a
 * SIGHUP reload adding a VIP installs it without a transition; SIGKILL of the MASTER →
 * the BACKUP takes the VIP and service returns within Master_Down_Interval + 100 ms, with
 * gratuitous ARP seen on the client segment correcting the client's ARP entry; the
 * crashed director's leftover VIP is removed when it starts again, and it preempts; a
 * clean stop hands over within the skew time + 100 ms; nopreempt keeps the lower MASTER.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canUseNetns, waitFor } from '../lib/netns.js';
import { failoverGap, Lines, VIP, VrrpLab } from './lib/lab.js';
import { vrrpConf } from './lib/conf.js';
import { masterDownIntervalMs, skewMs } from '../../../src/vrrp/machine.js';
import { lvsadmMain } from '../../../src/cli/lvsadm.js';
import { writeFileSync } from 'node:fs';

async function lvsadm(...argv: string[]): Promise<string> {
  let text = '';
  const rc = await lvsadmMain(argv, (s) => (text += s + '\n'), (s) => (text += s + '\n'));
  assert.equal(rc, 0, text);
  return text;
}

const D1_MAC = '02:00:00:0a:00:01';
const D2_MAC = '02:00:00:0a:00:02';

const VIP2 = '198.18.10.101';

function m(priority: number, over: { nopreempt?: boolean; vips?: string[] } = {}): string {
  return vrrpConf({ routerId: `lvsd${priority}`, instances: [{ name: 'VI_1', priority, vrid: 51, advertInt: 1, vips: [`${VIP}/24`], ...over }] });
}

const isTransition = (to: string) => (e: Record<string, unknown>) => e.type === 'vrrp.transition' && e.to === to;

test('lvsd pair: election, lvsadm vrrp, SIGHUP reload without a transition, SIGKILL failover within Master_Down_Interval + 100 ms, GARP fixes the client ARP, stale VIP cleanup and preempt on restart, clean stop within skew + 100 ms', { skip: !canUseNetns() && 'needs root and iproute2' }, async () => {
  const lab = await VrrpLab.create();
  const report: Record<string, unknown> = {};
  try {
    let echo1 = await lab.startEcho('d1');
    await lab.startEcho('d2');
    const d1 = lab.startLvsd('d1', m(150));
    const d2 = lab.startLvsd('d2', m(100));
    await d1.waitEvent(isTransition('MASTER'), 20000, 'd1 MASTER');
    await d2.waitEvent(isTransition('BACKUP'), 20000, 'd2 BACKUP');
    await waitFor(async () => (await lab.addresses('d1')).includes(VIP), 2000, 20, 'VIP on d1');
    assert.ok(!(await lab.addresses('d2')).includes(VIP), 'the BACKUP does not hold the VIP');

    // ── lvsadm vrrp against the daemon's control socket ──
    const text = await lvsadm('--control', d2.control, 'vrrp');
    assert.match(text, /^VI_1 {2}BACKUP {2}eth0 vrid 51 v2 ipv4 multicast {2}priority 100$/m);
    assert.match(text, /master 198\.18\.10\.1 priority 150/);
    const json = JSON.parse(await lvsadm('--control', d1.control, '--json', 'vrrp'));
    assert.equal(json.instances[0].state, 'MASTER');
    assert.deepEqual(Object.entries(json.instances[0].counters.drops).filter(([, n]) => n !== 0), []);
    const json2 = JSON.parse(await lvsadm('--control', d2.control, '--json', 'vrrp', 'VI_1'));
    assert.deepEqual(Object.entries(json2.instances[0].counters.drops).filter(([, n]) => n !== 0), [], 'the BACKUP dropped none of the MASTER\'s adverts');
    for (const j of [json, json2]) assert.deepEqual(Object.entries(j.channels[0].drops).filter(([, n]) => n !== 0), [], 'no socket-level drops');

    // ── SIGHUP reload with one more VIP: no transition, the new VIP is installed on the MASTER ──
    const before = d1.events().filter((e) => e.type === 'vrrp.transition').length;
    writeFileSync(d2.confPath, m(100, { vips: [`${VIP}/24`, `${VIP2}/24`] }));
    writeFileSync(d1.confPath, m(150, { vips: [`${VIP}/24`, `${VIP2}/24`] }));
    d2.child.kill('SIGHUP');
    d1.child.kill('SIGHUP');
    await d1.waitEvent((e) => e.type === 'config.applied' && e.trigger === 'sighup', 5000, 'd1 reloaded');
    await d2.waitEvent((e) => e.type === 'config.applied' && e.trigger === 'sighup', 5000, 'd2 reloaded');
    await waitFor(async () => (await lab.addresses('d1')).includes(VIP2), 3000, 20, 'VIP2 on d1 after reload');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(d1.events().filter((e) => e.type === 'vrrp.transition').length, before, 'reload caused no transition');
    assert.ok(!d2.events().some((e) => e.type === 'vrrp.packet_dropped'), 'd2 accepts the two-VIP adverts');

    // ── SIGKILL of the MASTER (and of the service it ran) ──
    const tcpdump = lab.topo.spawn('client', ['tcpdump', '-i', 'eth0', '-nn', '-e', '-l', 'arp']);
    const arpLines = new Lines(tcpdump);
    const vrrpDump = lab.topo.spawn('client', ['tcpdump', '-i', 'eth0', '-nn', '-tt', '-l', 'ip proto 112']);
    const vrrpLines = new Lines(vrrpDump);
    const probe = lab.probe(10, 9000);
    await probe.ready;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await lab.clientArp(), D1_MAC, 'the client reaches the VIP at d1');
    const killAt = Date.now();
    d1.child.kill('SIGKILL');
    echo1.kill('SIGKILL');
    const took = await d2.waitEvent(isTransition('MASTER'), 6000, 'd2 MASTER after SIGKILL');
    assert.equal(took.reason, 'master_down_timer');
    const res = await probe.done;
    const g = failoverGap(res, killAt, 'd2');
    const mdi = masterDownIntervalMs(2, 100, 1000);
    // the last advert of d1 as the client segment saw it (tcpdump -tt: kernel capture time)
    const advertTimes = vrrpLines.lines.filter((l) => l.includes(' > 224.0.0.18') && l.includes('198.18.10.1 ')).map((l) => Math.round(Number(l.split(' ')[0]) * 1000));
    const lastAdvert = Math.max(...advertTimes.filter((t) => t <= killAt + 5));
    report.sigkill = {
      masterDownIntervalMs: mdi, d2MasterAfterLastAdvertMs: took.t - lastAdvert, d2MasterAfterKillMs: took.t - killAt,
      serviceBackAfterKillMs: g.fromEventMs, clientGapMs: g.gapMs, lostProbes: g.lost,
    };
    assert.ok(took.t - lastAdvert >= mdi - 20 && took.t - lastAdvert <= mdi + 100, `d2 MASTER ${took.t - lastAdvert} ms after d1's last advert (Master_Down_Interval ${mdi})`);
    assert.ok(g.fromEventMs <= mdi + 100, `service back ${g.fromEventMs} ms after SIGKILL (bound ${mdi + 100})`);
    await lab.topo.kill(vrrpDump);
    assert.equal(await lab.clientArp(), D2_MAC, 'gratuitous ARP moved the client to d2');
    await waitFor(() => arpLines.lines.some((l) => l.includes(D2_MAC) && l.includes(VIP)), 2000, 20, 'GARP from d2 seen by tcpdump on the client');
    report.garpSeen = arpLines.lines.filter((l) => l.includes(D2_MAC) && l.includes(VIP)).length;
    await lab.topo.kill(tcpdump);
    assert.ok((await lab.addresses('d1')).includes(VIP), 'a crashed director leaves its kernel VIP behind');

    // ── restart d1: the stale VIP goes first, then d1 (150) preempts d2 (100) ──
    echo1 = await lab.startEcho('d1');
    const d1b = lab.startLvsd('d1', m(150, { vips: [`${VIP}/24`, `${VIP2}/24`] }));
    await d1b.waitEvent((e) => e.type === 'vip.removed' && e.address === VIP, 20000, 'stale VIP removed at start');
    await d1b.waitEvent((e) => e.type === 'vip.removed' && e.address === VIP2, 20000, 'stale VIP2 removed at start');
    const pre = await d1b.waitEvent(isTransition('MASTER'), 20000, 'd1 preempts');
    assert.equal(pre.reason, 'preempt');
    await d2.waitEvent((e) => isTransition('BACKUP')(e) && e.t > pre.t - 50, 3000, 'd2 back to BACKUP');
    await waitFor(async () => !(await lab.addresses('d2')).includes(VIP), 2000, 20, 'd2 released the VIP');

    // ── clean stop of d1: priority 0, d2 takes over after its skew ──
    const probe2 = lab.probe(10, 4000);
    await probe2.ready;
    await new Promise((r) => setTimeout(r, 800));
    d1b.child.kill('SIGTERM');
    const left = await d1b.waitEvent((e) => e.type === 'vrrp.transition' && e.to === 'STOP', 3000, 'd1 stopping');
    const took2 = await d2.waitEvent((e) => isTransition('MASTER')(e) && e.t > left.t - 10, 3000, 'd2 MASTER after priority 0');
    assert.equal(took2.reason, 'priority_zero');
    const res2 = await probe2.done;
    const g2 = failoverGap(res2, left.t, 'd2');
    const skew = skewMs(2, 100, 1000);
    report.cleanStop = { skewMs: skew, d2MasterAfterPriorityZeroMs: took2.t - left.t, serviceBackAfterStopMs: g2.fromEventMs, clientGapMs: g2.gapMs, lostProbes: g2.lost };
    assert.ok(took2.t - left.t <= skew + 100, `takeover ${took2.t - left.t} ms after priority 0 (bound ${skew + 100})`);
    assert.ok(g2.fromEventMs <= skew + 100, `service back ${g2.fromEventMs} ms after the priority-0 advert (bound ${skew + 100})`);
    assert.ok(!(await lab.addresses('d1')).includes(VIP), 'a clean stop removes the VIP');
    await waitFor(() => d1b.events().some((e) => e.type === 'daemon.stopped'), 10000, 20, 'd1 exited');
    process.stdout.write(`VRRP_MEASURE lvsd-pair ${JSON.stringify(report)}\n`);
  } finally {
    await lab.cleanup();
  }
});

test('nopreempt: a higher-priority director started later stays BACKUP while the MASTER lives', { skip: !canUseNetns() && 'needs root and iproute2' }, async () => {
  const lab = await VrrpLab.create();
  try {
    const d2 = lab.startLvsd('d2', m(100));
    await d2.waitEvent(isTransition('MASTER'), 20000, 'd2 MASTER alone');
    const d1 = lab.startLvsd('d1', m(150, { nopreempt: true }));
    await d1.waitEvent(isTransition('BACKUP'), 20000, 'd1 BACKUP');
    await new Promise((r) => setTimeout(r, 6000)); // > Master_Down_Interval of d1
    assert.ok(!d1.events().some(isTransition('MASTER')), 'nopreempt: d1 did not take over');
    assert.ok((await lab.addresses('d2')).includes(VIP));
    assert.ok(!(await lab.addresses('d1')).includes(VIP));
  } finally {
    await lab.cleanup();
  }
});
