import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRuleset } from '../../../src/io/nft.js';
import { natReplySources, nftSpecOf, virtualPortRanges } from '../../../src/forward/nft-spec.js';
import { makeModel } from './lib/model.js';

const model = makeModel({
  services: [
    { match: { kind: 'addr', address: '198.18.0.10', port: 80 }, reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.1.21', port: 80, method: 'DR' }] },
    { match: { kind: 'fwmark', fwmark: 5 }, persistenceTimeoutS: 60, reals: [{ address: '198.18.1.12', port: 0 }, { address: '198.18.1.13', port: 0 }],
      sorry: { address: '198.18.1.99', port: 0 } },
    { match: { kind: 'addr', address: '198.18.0.11', port: 0 }, persistenceTimeoutS: 60, reals: [{ address: '198.18.1.14', port: 0 }] },
    { match: { kind: 'group', group: 'g' }, reals: [{ address: '198.18.1.15', port: 0 }] },
  ],
  fwmarkRules: [
    { fwmark: 5, address: '198.18.0.12', prefixLen: 32, protocol: 'tcp', portMin: 80, portMax: 80 },
    { fwmark: 5, address: '198.18.0.12', prefixLen: 32, protocol: 'tcp', portMin: 443, portMax: 443 },
    { fwmark: 5, address: '198.18.0.12', prefixLen: 32, protocol: 'udp', portMin: 5000, portMax: 5010 },
    { fwmark: 6, address: '198.18.0.13', prefixLen: 32, protocol: 'tcp', portMin: 81, portMax: 82 },
  ],
  groups: [{ name: 'g', entries: [{ kind: 'range', first: '198.18.0.20', last: '198.18.0.21', port: 8000 }, { kind: 'fwmark', fwmark: 6 }] }],
});

test('virtual port ranges: address port, fwmark rules (protocol from the rule), port 0 = all, group entries', () => {
  const vs = (k: string) => model.virtualServers[k]!;
  assert.deepEqual(virtualPortRanges(model, vs('tcp:198.18.0.10:80')), [{ proto: 'tcp', portMin: 80, portMax: 80 }]);
  assert.deepEqual(virtualPortRanges(model, vs('fwmark:5')), [
    { proto: 'tcp', portMin: 80, portMax: 80 }, { proto: 'tcp', portMin: 443, portMax: 443 }, { proto: 'udp', portMin: 5000, portMax: 5010 },
  ]);
  assert.deepEqual(virtualPortRanges(model, vs('tcp:198.18.0.11:0')), [{ proto: 'tcp', portMin: 0, portMax: 65535 }]);
  assert.deepEqual(virtualPortRanges(model, vs('group:tcp:g')), [{ proto: 'tcp', portMin: 8000, portMax: 8000 }, { proto: 'tcp', portMin: 81, portMax: 82 }]);
});

test('NAT reply sources: port-0 real servers (and a port-0 sorry server) cover every virtual port; DR real servers none', () => {
  const src = natReplySources(model);
  assert.ok(!src.some((r) => r.address === '198.18.1.21'), 'DR replies do not pass the director');
  assert.deepEqual(src.filter((r) => r.address === '198.18.1.11'), [{ address: '198.18.1.11', proto: 'tcp', port: 8080 }]);
  assert.deepEqual(src.filter((r) => r.address === '198.18.1.12'), [
    { address: '198.18.1.12', proto: 'tcp', port: 80, portMax: 80 }, { address: '198.18.1.12', proto: 'tcp', port: 443, portMax: 443 },
    { address: '198.18.1.12', proto: 'udp', port: 5000, portMax: 5010 },
  ]);
  assert.equal(src.filter((r) => r.address === '198.18.1.99').length, 3, 'sorry server too');
  assert.deepEqual(src.filter((r) => r.address === '198.18.1.14'), [{ address: '198.18.1.14', proto: 'tcp', port: 0, portMax: 65535 }]);
});

test('nft ruleset: port-0 real servers get interval elements; overlapping ranges merged; director addresses still excepted', () => {
  const s = buildRuleset(nftSpecOf(model, ['eth0', 'eth1'], ['198.18.0.10', '198.18.0.12'], ['198.18.1.2']));
  const tcpSet = /set nat4_tcp \{[^\n]*\}/.exec(s)![0];
  assert.match(tcpSet, /type ipv4_addr \. inet_service; flags interval;/);
  for (const e of ['198.18.1.11 . 8080', '198.18.1.12 . 80', '198.18.1.12 . 443', '198.18.1.14 . 0-65535', '198.18.1.15 . 81-82', '198.18.1.15 . 8000']) {
    assert.ok(tcpSet.includes(`${e},`) || tcpSet.includes(`${e} }`), `${e} in ${tcpSet}`);
  }
  assert.match(s, /set nat4_udp \{ type ipv4_addr \. inet_service; flags interval; elements = \{ 198\.18\.1\.12 \. 5000-5010, 198\.18\.1\.13 \. 5000-5010, 198\.18\.1\.99 \. 5000-5010 \} \}/);
  assert.match(s, /ip saddr \. tcp sport @nat4_tcp ip daddr != @local4 drop/);
  assert.match(s, /ip saddr \. udp sport @nat4_udp ip daddr != @local4 drop/);
  // Overlap and adjacency merge: an interval set refuses overlapping elements.
  const m = buildRuleset({ interfaces: ['eth1'], vips: [], localAddresses: [], natReals: [
    { address: '198.18.1.5', proto: 'tcp', port: 80 }, { address: '198.18.1.5', proto: 'tcp', port: 0, portMax: 65535 },
    { address: '198.18.1.6', proto: 'tcp', port: 10, portMax: 20 }, { address: '198.18.1.6', proto: 'tcp', port: 21, portMax: 30 },
    { address: '198.18.1.6', proto: 'tcp', port: 40 },
  ] });
  assert.match(m, /elements = \{ 198\.18\.1\.5 \. 0-65535, 198\.18\.1\.6 \. 10-30, 198\.18\.1\.6 \. 40 \}/);
  // Without ranges the set stays a plain hash of exact tuples.
  const plain = buildRuleset({ interfaces: ['eth1'], vips: [], localAddresses: [], natReals: [{ address: '198.18.1.5', proto: 'tcp', port: 80 }, { address: '198.18.1.5', proto: 'tcp', port: 80 }] });
  assert.match(plain, /set nat4_tcp \{ type ipv4_addr \. inet_service; elements = \{ 198\.18\.1\.5 \. 80 \} \}/);
});
