/**
 * Scripts run as the user keepalived.conf names: `global_defs { script_user }` for every
 * script that names none, `vrrp_script { user }` for a track script, `notify_* SCRIPT USER
 * [GROUP]` for a notify script. Each script writes `id -u` and `id -g` to a file; the test
 * reads them. Users from Debian's base system (daemon = 1, nobody = 65534); none is added.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canUseNetns, waitFor } from '../lib/netns.js';
import { VIP, VrrpLab } from './lib/lab.js';
import { vrrpConf } from './lib/conf.js';

test('script_user globally and per script: track scripts and notify scripts run with that uid and gid', { skip: !canUseNetns() && 'needs root and iproute2' }, async () => {
  const lab = await VrrpLab.create();
  try {
    // the scripts must be reachable by the unprivileged users: lab dir 0755, output dir 0777
    chmodSync(lab.dir, 0o755);
    const out = join(lab.dir, 'ids');
    mkdirSync(out);
    chmodSync(out, 0o777);
    const idSh = join(lab.dir, 'id.sh');
    writeFileSync(idSh, `#!/bin/sh\necho "$(id -u) $(id -g)" > ${out}/$1\n`);
    chmodSync(idSh, 0o755);
    const d1 = lab.startLvsd('d1', vrrpConf({
      routerId: 'd1',
      global: ['script_user daemon'],
      blocks: [
        'vrrp_script chk_default {', `  script "${idSh} chk_default"`, '  interval 0.5', '}',
        'vrrp_script chk_own {', `  script "${idSh} chk_own"`, '  interval 0.5', '  user nobody', '}',
        'vrrp_script chk_group {', `  script "${idSh} chk_group"`, '  interval 0.5', '  user nobody daemon', '}',
      ],
      instances: [{
        name: 'VI_1', priority: 150, vips: [`${VIP}/24`], trackScripts: ['chk_default', 'chk_own', 'chk_group'],
        notifyMaster: `"${idSh} notify_master"`,
        notify: `"${idSh} notify" nobody`,
        extra: [`notify_backup "${idSh} notify_backup" nobody daemon`],
      }],
    }));
    await d1.waitEvent((e) => e.type === 'vrrp.transition' && e.to === 'MASTER', 20000, 'd1 MASTER');
    const want: Record<string, string> = {
      chk_default: '1 1', // global script_user daemon
      chk_own: '65534 65534', // vrrp_script { user nobody }: nobody's primary group
      chk_group: '65534 1', // vrrp_script { user nobody daemon }
      notify_master: '1 1', // no user: the global one
      notify: '65534 65534', // notify SCRIPT nobody
      notify_backup: '65534 1', // notify_backup SCRIPT nobody daemon
    };
    await waitFor(() => Object.keys(want).every((k) => existsSync(join(out, k))), 5000, 50, 'every script ran');
    const got = Object.fromEntries(Object.keys(want).map((k) => [k, readFileSync(join(out, k), 'utf8').trim()]));
    assert.deepEqual(got, want);
    // the track scripts succeed as those users, so nothing is faulted
    assert.ok(!d1.events().some((e) => e.type === 'vrrp.transition' && e.to === 'FAULT'));
    d1.child.kill('SIGTERM');
    await d1.waitEvent((e) => e.type === 'daemon.stopped', 10000, 'd1 stopped');
  } finally {
    await lab.cleanup();
  }
});
