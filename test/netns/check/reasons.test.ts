/**
 * Failure reasons from a real kernel across a real link: a director namespace checks a
 * real-server namespace while the test drops packets (nft drop: timeout), rejects them with
 * an ICMP host-unreachable (unreachable) or a TCP reset (refused), and routes a prefix to
 * `unreachable` (unreachable). Addresses: 198.18.40.0/24, 198.18.41.0/24.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topology, run } from '../lib/netns.js';
import type { Checker } from '../../../src/model/types.js';
import type { CheckOutcome } from '../../../src/check/outcome.js';
import { httpChecker, tcpChecker, url } from '../../unit/check/fixtures.js';

const T = { connectTimeoutMs: 500 };

async function probe(t: Topology, checkers: Checker[]): Promise<CheckOutcome[]> {
  const out = await t.ok('dir', ['node', '--import', 'tsx', 'test/netns/check/probe-cli.ts', JSON.stringify(checkers)], 30_000);
  return (JSON.parse(out.trim().split('\n').at(-1)!) as { outcomes: CheckOutcome[] }).outcomes;
}

test('real kernel failure reasons across a link: ok, refused, timeout (drop), unreachable (ICMP, route)', async () => {
  const t = new Topology('chk');
  try {
    await t.addHosts('dir', 'rs');
    await t.link('dir', 'eth0', 'rs', 'eth0');
    await t.addr('dir', 'eth0', '198.18.40.1/24');
    await t.addr('rs', 'eth0', '198.18.40.2/24');
    const srv = t.spawn('rs', ['node', '--import', 'tsx', 'test/netns/check/server-cli.ts', '198.18.40.2', '8080']);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not start')), 20_000);
      srv.stdout!.on('data', (d: Buffer) => {
        if (String(d).includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });

    // 1. healthy, and a closed port answered with a RST by the real server's kernel
    let o = await probe(t, [
      tcpChecker('198.18.40.2', 8080, T),
      httpChecker('198.18.40.2', 8080, [url('/')], T),
      tcpChecker('198.18.40.2', 9, T),
    ]);
    assert.deepEqual(o.map((x) => x.reason), ['ok', 'ok', 'refused']);

    // 2. the real server's firewall drops, or rejects with ICMP host-unreachable / TCP reset
    const rules = [
      'add table inet lvtchk',
      'add chain inet lvtchk in { type filter hook input priority 0; policy accept; }',
      'add rule inet lvtchk in tcp dport 8080 drop',
      'add rule inet lvtchk in tcp dport 8081 reject with icmp type host-unreachable',
      'add rule inet lvtchk in tcp dport 8082 reject with tcp reset',
    ];
    for (const r of rules) await t.ok('rs', ['nft', ...r.split(' ')]);
    o = await probe(t, [
      tcpChecker('198.18.40.2', 8080, T),
      httpChecker('198.18.40.2', 8080, [url('/')], T),
      tcpChecker('198.18.40.2', 8081, T),
      httpChecker('198.18.40.2', 8081, [url('/')], T),
      tcpChecker('198.18.40.2', 8082, T),
    ]);
    assert.deepEqual(
      o.map((x) => [x.reason, x.detail]),
      [
        ['timeout', 'no connection within 500 ms'],
        ['timeout', 'no connection within 500 ms'],
        ['unreachable', 'EHOSTUNREACH'],
        ['unreachable', 'EHOSTUNREACH'],
        ['refused', 'ECONNREFUSED'],
      ],
    );

    // 3. no route: the director's own kernel says unreachable at once
    await t.ok('dir', ['ip', 'route', 'add', 'unreachable', '198.18.41.0/24']);
    o = await probe(t, [tcpChecker('198.18.41.5', 80, T), httpChecker('198.18.41.5', 80, [url('/')], T)]);
    assert.deepEqual(o.map((x) => x.reason), ['unreachable', 'unreachable']);
    assert.ok(o.every((x) => x.latencyMs < 100), 'immediate');
  } finally {
    await t.cleanup();
  }
  const left = (await run('ip', ['netns', 'list'])).stdout;
  assert.ok(!left.includes(t.prefix), `namespaces left behind: ${left}`);
});

test('connect_ip / connect_port put the probe on the wire to that address and port, nothing to the real server address', async () => {
  const t = new Topology('chkc');
  try {
    await t.addHosts('dir', 'rs');
    await t.link('dir', 'eth0', 'rs', 'eth0');
    await t.addr('dir', 'eth0', '198.18.42.1/24');
    await t.addr('rs', 'eth0', '198.18.42.2/24');
    await t.addr('rs', 'eth0', '198.18.42.3/24');
    const srv = t.spawn('rs', ['node', '--import', 'tsx', 'test/netns/check/server-cli.ts', '198.18.42.3', '8083']);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not start')), 20_000);
      srv.stdout!.on('data', (d: Buffer) => {
        if (String(d).includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // counters on the real server's input: SYNs to connect_ip:connect_port, and anything IP to the real server address
    for (const r of [
      'add table inet lvtchkc',
      'add chain inet lvtchkc in { type filter hook input priority 0; policy accept; }',
      'add rule inet lvtchkc in ip daddr 198.18.42.3 tcp dport 8083 tcp flags & (syn|ack) == syn counter',
      'add rule inet lvtchkc in ip daddr 198.18.42.2 counter',
    ]) await t.ok('rs', ['nft', ...r.split(' ')]);
    const redirect = { connectIp: '198.18.42.3', connectPort: 8083 };
    const o = await probe(t, [
      { ...tcpChecker('198.18.42.2', 80, T), ...redirect },
      { ...httpChecker('198.18.42.2', 80, [url('/')], T), ...redirect },
    ]);
    assert.deepEqual(o.map((x) => x.reason), ['ok', 'ok']);
    const listing = JSON.parse(await t.ok('rs', ['nft', '-j', 'list', 'chain', 'inet', 'lvtchkc', 'in'])) as {
      nftables: Array<{ rule?: { expr: Array<{ counter?: { packets: number } }> } }>;
    };
    const counters = listing.nftables.flatMap((e) => (e.rule ? e.rule.expr.filter((x) => x.counter).map((x) => x.counter!.packets) : []));
    assert.deepEqual(counters, [2, 0], 'one SYN per checker to 198.18.42.3:8083, no packet to the real server address 198.18.42.2');
  } finally {
    await t.cleanup();
  }
});
