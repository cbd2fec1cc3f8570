/**
 * diff(prev, next): keyed changes per collection; a service whose pool changed is reported
 * through its real servers only; summarizeChanges gives the config.applied summary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../../src/config/load.js';
import { isEmptyChangeSet } from '../../../src/model/changes.js';
import { deepEqual, diff, summarizeChanges } from '../../../src/model/diff.js';
import type { Model } from '../../../src/model/types.js';

function model(text: string): Model {
  const r = loadConfigText(text, 'd.conf', 'keepalived', { hostname: 'h', configId: 'h' });
  assert.ok(r.ok, r.ok ? '' : r.diagnostics.map((d) => d.message).join(' | '));
  return r.model;
}

const base = (o: { weight?: number; sched?: string; extraRs?: boolean; prio?: number; vip2?: boolean; router?: string } = {}) => `
global_defs {
    router_id ${o.router ?? 'a'}
}
vrrp_script chk {
    script /bin/true
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority ${o.prio ?? 100}
    virtual_ipaddress {
        198.18.0.10/24
${o.vip2 ? '        198.18.0.11/24' : ''}
    }
}
virtual_server 198.18.0.10 80 {
    protocol TCP
    lvs_sched ${o.sched ?? 'rr'}
    real_server 198.18.0.101 80 {
        weight ${o.weight ?? 1}
    }
${o.extraRs ? '    real_server 198.18.0.102 80 {\n    }' : ''}
}
`;

test('the same config twice: empty change set (positions do not count)', () => {
  const a = model(base());
  const b = model('\n\n' + base().replace(/    /g, '\t'));
  const cs = diff(a, b);
  assert.ok(isEmptyChangeSet(cs), JSON.stringify(cs));
  assert.deepEqual(summarizeChanges(cs).virtualServers, { added: 0, removed: 0, changed: 0 });
});

test('a real server weight change is a real-server change, not a service change', () => {
  const cs = diff(model(base()), model(base({ weight: 5 })));
  assert.deepEqual(cs.virtualServers, { added: [], removed: [], changed: [] });
  assert.deepEqual(cs.realServers, { 'tcp:198.18.0.10:80': { added: [], removed: [], changed: ['198.18.0.101:80'] } });
  assert.equal(cs.global, false);
});

test('added real server; scheduler change; instance priority; new VIP; global change', () => {
  const cs = diff(model(base()), model(base({ extraRs: true, sched: 'wrr', prio: 150, vip2: true, router: 'b' })));
  assert.deepEqual(cs.virtualServers.changed, ['tcp:198.18.0.10:80']);
  assert.deepEqual(cs.realServers['tcp:198.18.0.10:80']!.added, ['198.18.0.102:80']);
  assert.deepEqual(cs.instances.changed, ['VI_1']);
  assert.equal(cs.global, true);
  // 198.18.0.11/24 holds the NAT real servers' subnet: it is their gateway, so core-owned (D4)
  assert.deepEqual(cs.coreVips, { added: ['198.18.0.11'], removed: [], changed: [] });
  const s = summarizeChanges(cs);
  assert.deepEqual(s, {
    global: { added: 0, removed: 0, changed: 1 },
    vrrpScripts: { added: 0, removed: 0, changed: 0 },
    vrrpTrackFiles: { added: 0, removed: 0, changed: 0 },
    syncGroups: { added: 0, removed: 0, changed: 0 },
    instances: { added: 0, removed: 0, changed: 1 },
    virtualServerGroups: { added: 0, removed: 0, changed: 0 },
    virtualServers: { added: 0, removed: 0, changed: 1 },
    realServers: { added: 1, removed: 0, changed: 0 },
    fwmarkRules: { added: 0, removed: 0, changed: 0 },
    coreVips: { added: 1, removed: 0, changed: 0 },
  });
});

test('removed service and core VIP; added script', () => {
  const a = model(base());
  const b = model(base().replace(/virtual_server[\s\S]*$/, '') + 'vrrp_script other {\n    script /bin/false\n}\n');
  const cs = diff(a, b);
  assert.deepEqual(cs.virtualServers.removed, ['tcp:198.18.0.10:80']);
  assert.deepEqual(cs.coreVips.removed, ['198.18.0.10']);
  assert.deepEqual(cs.instances.changed, ['VI_1'], 'its VIP became kernel-owned');
  assert.deepEqual(cs.vrrpScripts.added, ['other']);
  assert.deepEqual(cs.realServers, {});
});

test('fwmark rules changes are reported', () => {
  const fw = (port: number) => `fwmark_rules 1 {\n    198.18.0.10 tcp ${port}\n}\nglobal_defs {\n    lvs_interface eth0\n}\nvirtual_server fwmark 1 {\n    real_server 198.18.0.101 80 {\n    }\n}\n`;
  const cs = diff(model(fw(80)), model(fw(81)));
  assert.equal(cs.fwmarkRules, true);
  assert.equal(summarizeChanges(cs).fwmarkRules.changed, 1);
});

test('deepEqual is structural', () => {
  assert.ok(deepEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] }));
  assert.ok(!deepEqual({ a: 1 }, { a: 1, b: undefined }));
  assert.ok(!deepEqual([1, 2], [2, 1]));
  assert.ok(!deepEqual({ a: [] }, { a: {} }));
});
