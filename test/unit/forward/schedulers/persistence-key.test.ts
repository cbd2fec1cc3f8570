import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createPersistenceKey,
  persistenceServiceOf,
  persistenceTemplateKey,
  samePersistenceKey,
  type PersistenceService,
} from '../../../../src/forward/schedulers/persistence-key.js';
import { formatIPv6, parseIPv4 } from '../../../../src/lib/ip.js';
import type { VirtualServer } from '../../../../src/model/types.js';
import { flow4, flow6 } from './helpers.js';

const svc4 = (port: number, fwmark: number, prefix: number): PersistenceService => ({
  family: 'ipv4',
  port,
  fwmark,
  granularityPrefix: prefix,
  netmask4: prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0,
});

test('persistence key: port service -> <proto, client/granularity, 0, vaddr, vport>', () => {
  const k = persistenceTemplateKey(createPersistenceKey(), svc4(443, 0, 24), flow4('198.18.5.77', 51000, '198.18.0.10', 443));
  assert.deepEqual([k.proto, k.caddr4, k.cport, k.vaddr4, k.vport], [6, parseIPv4('198.18.5.0'), 0, parseIPv4('198.18.0.10'), 443]);
  // same /24, other port: same template; other /24: different
  const a = persistenceTemplateKey(createPersistenceKey(), svc4(443, 0, 24), flow4('198.18.5.1', 40000, '198.18.0.10', 443));
  const b = persistenceTemplateKey(createPersistenceKey(), svc4(443, 0, 24), flow4('198.18.6.1', 40000, '198.18.0.10', 443));
  assert.ok(samePersistenceKey(k, a));
  assert.ok(!samePersistenceKey(k, b));
  // /32 keeps the whole address
  assert.equal(persistenceTemplateKey(createPersistenceKey(), svc4(443, 0, 32), flow4('198.18.5.77')).caddr4, parseIPv4('198.18.5.77'));
});

test('persistence key: FTP (port 21) and port-zero services use vport 0', () => {
  assert.equal(persistenceTemplateKey(createPersistenceKey(), svc4(21, 0, 32), flow4('198.18.5.7', 1, '198.18.0.10', 21)).vport, 0);
  const p0 = svc4(0, 0, 32);
  const k80 = persistenceTemplateKey(createPersistenceKey(), p0, flow4('198.18.5.7', 1, '198.18.0.10', 80));
  const k443 = persistenceTemplateKey(createPersistenceKey(), p0, flow4('198.18.5.7', 2, '198.18.0.10', 443));
  assert.equal(k80.vport, 0);
  assert.ok(samePersistenceKey(k80, k443), 'every port of a port-zero service shares the template');
});

test('persistence key: fwmark service -> <IPPROTO_IP, client, 0, fwmark, 0> across VIPs, ports and protocols', () => {
  const fw = svc4(0, 7, 32);
  const a = persistenceTemplateKey(createPersistenceKey(), fw, flow4('198.18.5.7', 1, '198.18.0.10', 80, 6));
  const b = persistenceTemplateKey(createPersistenceKey(), fw, flow4('198.18.5.7', 2, '198.18.0.11', 443, 17));
  assert.deepEqual([a.proto, a.vaddr4, a.vport], [0, 7, 0]);
  assert.ok(samePersistenceKey(a, b));
  const v6 = persistenceTemplateKey(createPersistenceKey(), { family: 'ipv6', port: 0, fwmark: 0x01020304, granularityPrefix: 128, netmask4: 0 }, flow6('2001:db8::5'));
  assert.deepEqual(Array.from(v6.vaddr6.subarray(0, 5)), [1, 2, 3, 4, 0]);
});

test('persistence key: IPv6 granularity is a prefix length (ipv6_addr_prefix)', () => {
  const s: PersistenceService = { family: 'ipv6', port: 80, fwmark: 0, granularityPrefix: 60, netmask4: 0 };
  const k = persistenceTemplateKey(createPersistenceKey(), s, flow6('2001:db8:aaaa:bbbb:cccc::1'));
  assert.equal(formatIPv6(k.caddr6), '2001:db8:aaaa:bbb0::');
  assert.equal(formatIPv6(k.vaddr6), '2001:db8::10');
  assert.equal(k.caddr4, 0);
});

test('persistence service from the model: fwmark/port-zero services have port 0', () => {
  const base = { family: 'ipv4', persistenceGranularity: 24 } as const;
  const addr = persistenceServiceOf({ ...base, match: { kind: 'addr', address: '198.18.0.10', port: 80 } } as unknown as VirtualServer);
  assert.deepEqual(addr, { family: 'ipv4', port: 80, fwmark: 0, granularityPrefix: 24, netmask4: 0xffffff00 });
  const fw = persistenceServiceOf({ ...base, match: { kind: 'fwmark', fwmark: 3 } } as unknown as VirtualServer);
  assert.deepEqual([fw.port, fw.fwmark], [0, 3]);
});
