/**
 * `lvsadm -L -n` golden listings from a running ForwardingSubsystem (in process, worker
 * doubles, test/unit/forward/lib/rig.ts) after real frames went through its pipeline:
 * a virtual_server_group is one IPVS service per entry, as keepalived creates them and
 * ipvsadm lists them; the sorry server (sorry_server_inhibit) is a dest with weight 0.
 * The expected texts are in this folder (*.txt), written to ipvsadm.c's formats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { formatList } from '../../../../src/cli/format/lvs.js';
import { frame } from '../../../unit/forward/lib/frames.js';
import { makeModel } from '../../../unit/forward/lib/model.js';
import { makeRig, startRig } from '../../../unit/forward/lib/rig.js';
import { CLIENT, MAC } from '../../../unit/forward/lib/topo.js';

const golden = (name: string) => readFileSync(new URL(name, import.meta.url), 'utf8');

test('a virtual_server_group with a range and a fwmark entry, rr, sorry_server_inhibit: -L -n and --stats', async () => {
  const model = makeModel({
    services: [{ match: { kind: 'group', group: 'web' }, scheduler: 'rr', sorry: { address: '198.18.1.99', port: 0, inhibit: true },
      reals: [{ address: '198.18.1.11', port: 0 }, { address: '198.18.1.12', port: 0 }] }],
    groups: [{ name: 'web', entries: [{ kind: 'range', first: '198.18.0.20', last: '198.18.0.21', port: 80 }, { kind: 'fwmark', fwmark: 9 }] }],
    fwmarkRules: [
      { fwmark: 9, address: '198.18.0.30', prefixLen: 32, protocol: 'tcp', portMin: 80, portMax: 80 },
      { fwmark: 9, address: '198.18.0.30', prefixLen: 32, protocol: 'tcp', portMin: 443, portMax: 443 },
    ],
    coreVips: [{ address: '198.18.0.20', interface: 'eth0' }, { address: '198.18.0.21', interface: 'eth0' }, { address: '198.18.0.30', interface: 'eth0' }, { address: '198.18.1.1', interface: 'eth1' }],
  });
  const r = await makeRig();
  await startRig(r, model);
  const w = r.workers.live()[0]!;
  const syn = (sport: number, dst: string, dport: number) =>
    w.frame(frame({ dstMac: MAC.eth0, srcMac: MAC.router, src: CLIENT, dst, l4: { proto: 'tcp', sport, dport, flags: 'S', seq: 1 } }), 0);
  syn(1, '198.18.0.20', 80);
  syn(2, '198.18.0.20', 80);
  syn(3, '198.18.0.30', 443);
  w.tick();
  const res = await r.fwd.lvs();
  assert.deepEqual(res.services.map((s) => s.key), ['group:tcp:web@198.18.0.20:80', 'group:tcp:web@198.18.0.21:80', 'group:tcp:web@fwmark:9']);
  assert.equal(formatList(res), golden('group.txt'));
  assert.equal(formatList(res, { stats: true }), golden('group-stats.txt'));
  await r.fwd.stop('test');
});
