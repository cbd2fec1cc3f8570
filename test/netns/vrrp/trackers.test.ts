/**
 * Trackers and notifications with real processes, links and files: a track_script run by
 * the child-process runner (rise/fall), track_interface from netlink link events, a
 * weighted track_file watched on disk, notify scripts with keepalived's arguments and
 * notify_fifo lines read by a reader on the FIFO — all configured in keepalived.conf syntax
 * and run by the lvsd daemon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { canUseNetns, waitFor } from '../lib/netns.js';
import { Lines, VIP, VrrpLab } from './lib/lab.js';
import { vrrpConf } from './lib/conf.js';

const to = (state: string, after = 0) => (e: Record<string, unknown> & { t: number }) => e.type === 'vrrp.transition' && e.to === state && e.t > after;

function script(path: string, body: string): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

test('track_script / track_interface / track_file move the MASTER; notify scripts and the FIFO see keepalived-format lines', { skip: !canUseNetns() && 'needs root and iproute2' }, async () => {
  const lab = await VrrpLab.create();
  try {
    await lab.topo.link('d1', 'eth1', 'client', 'eth1');
    const flag = join(lab.dir, 'healthy');
    const prioFile = join(lab.dir, 'prio');
    const notifyLog = join(lab.dir, 'notify.log');
    const masterLog = join(lab.dir, 'master.log');
    const fifo = join(lab.dir, 'vrrp.fifo');
    writeFileSync(flag, 'ok\n');
    writeFileSync(prioFile, '0\n');
    execFileSync('mkfifo', [fifo]);
    const reader = lab.topo.spawn('d1', ['cat', fifo]);
    const fifoLines = new Lines(reader);
    const chk = script(join(lab.dir, 'chk.sh'), `test -e ${flag}`);
    const notifySh = script(join(lab.dir, 'notify.sh'), `echo "$@" >> ${notifyLog}`);
    const masterSh = script(join(lab.dir, 'master.sh'), `echo master >> ${masterLog}`);
    const d1 = lab.startLvsd('d1', vrrpConf({
      routerId: 'd1',
      global: [`vrrp_notify_fifo ${fifo}`],
      blocks: [
        'vrrp_script chk {', `  script "${chk}"`, '  interval 0.3', '  timeout 1', '  rise 2', '  fall 2', '}',
        'track_file prio {', `  file ${prioFile}`, '  weight -10', '}',
      ],
      instances: [{
        name: 'VI_1', priority: 150, vips: [`${VIP}/24`], trackScripts: ['chk'], trackInterfaces: ['eth1'], trackFiles: ['prio'],
        notifyMaster: masterSh, notify: notifySh,
      }],
    }));
    const d2 = lab.startLvsd('d2', vrrpConf({ routerId: 'd2', instances: [{ name: 'VI_1', priority: 100, vips: [`${VIP}/24`] }] }));
    const m1 = await d1.waitEvent(to('MASTER'), 20000, 'd1 MASTER');

    // track_script: two failures (fall 2) → FAULT with priority 0 → d2 takes over
    rmSync(flag);
    const f1 = await d1.waitEvent(to('FAULT', m1.t), 3000, 'd1 FAULT by script');
    assert.equal(f1.reason, 'tracker');
    await d2.waitEvent(to('MASTER', m1.t), 2000, 'd2 MASTER');
    writeFileSync(flag, 'ok\n');
    const b1 = await d1.waitEvent(to('BACKUP', f1.t), 3000, 'd1 recovered (rise 2)');
    assert.equal(b1.reason, 'tracker_recovered');
    const m2 = await d1.waitEvent(to('MASTER', b1.t), 6000, 'd1 preempts again');

    // track_interface: carrier loss on eth1 (the peer end goes down)
    await lab.topo.ok('client', ['ip', 'link', 'set', 'eth1', 'down']);
    const f2 = await d1.waitEvent(to('FAULT', m2.t), 3000, 'd1 FAULT by eth1');
    assert.ok(d1.events().some((e) => e.type === 'vrrp.tracker' && e.kind === 'interface' && e.tracker === 'eth1' && e.up === false));
    await lab.topo.ok('client', ['ip', 'link', 'set', 'eth1', 'up']);
    const b2 = await d1.waitEvent(to('BACKUP', f2.t), 3000, 'd1 back from eth1');
    const m3 = await d1.waitEvent(to('MASTER', b2.t), 6000, 'd1 MASTER again');

    // track_file, weight -10: value 6 → priority 150 - 60 = 90 < 100 → d2 preempts
    writeFileSync(prioFile, '6\n');
    await d1.waitEvent((e) => e.type === 'vrrp.priority' && e.to === 90, 3000, 'd1 priority 90');
    const m4 = await d2.waitEvent(to('MASTER', m3.t), 6000, 'd2 preempts the lowered d1');
    assert.equal(m4.reason, 'preempt');
    await d1.waitEvent(to('BACKUP', m3.t), 2000, 'd1 BACKUP');

    d1.child.kill('SIGTERM');
    await d1.waitEvent((e) => e.type === 'daemon.stopped', 10000, 'd1 stopped');
    // notify: keepalived's four arguments, in order; notify_master ran for each MASTER entry
    await waitFor(() => existsSync(notifyLog) && readFileSync(notifyLog, 'utf8').includes('STOP'), 3000, 20, 'notify STOP line');
    const lines = readFileSync(notifyLog, 'utf8').trim().split('\n');
    assert.deepEqual(lines, [
      'INSTANCE VI_1 BACKUP 150', 'INSTANCE VI_1 MASTER 150', 'INSTANCE VI_1 FAULT 150', 'INSTANCE VI_1 BACKUP 150', 'INSTANCE VI_1 MASTER 150',
      'INSTANCE VI_1 FAULT 150', 'INSTANCE VI_1 BACKUP 150', 'INSTANCE VI_1 MASTER 150', 'INSTANCE VI_1 BACKUP 90', 'INSTANCE VI_1 STOP 90',
    ]);
    assert.equal(readFileSync(masterLog, 'utf8').trim().split('\n').length, 3);
    await waitFor(() => fifoLines.lines.includes('INSTANCE "VI_1" STOP 90'), 2000, 20, 'FIFO STOP line');
    // a preempted MASTER may send one more advert before it hears the new one: the new MASTER
    // then reports MASTER_RX_LOWER_PRI (keepalived does the same); those lines are not state changes
    const fifoStates = fifoLines.lines.filter((l) => l.startsWith('INSTANCE') && !l.includes('MASTER_RX_LOWER_PRI'));
    for (const l of fifoLines.lines.filter((x) => x.includes('MASTER_RX_LOWER_PRI'))) assert.match(l, /^INSTANCE "VI_1" MASTER_RX_LOWER_PRI \d+$/);
    assert.deepEqual(fifoStates, lines.map((l) => {
      const [t, n, s, p] = l.split(' ');
      return `${t} "${n}" ${s} ${p}`;
    }));
  } finally {
    await lab.cleanup();
  }
});
