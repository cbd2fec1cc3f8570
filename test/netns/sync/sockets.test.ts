/**
 * The daemon's sync sockets over real interfaces (src/io/sync-socket.ts), set up as the
 * kernel's sync threads set up theirs: the master's messages reach a backup joined to the
 * group on the interface, leave from the interface's address with the configured TTL (1 by
 * default), and do not loop back to the sender's own host (IP_MULTICAST_LOOP off: a
 * director running both roles does not read its own messages); IPv4 and IPv6 (link-local).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Topology, canUseNetns, waitFor } from '../../../src/lab/topology.js';
import { LineReader } from '../../../src/lab/lines.js';

const skip = !canUseNetns() && 'needs root and iproute2';
const topo = new Topology('syncsock');
after(async () => { await topo.cleanup(); });

async function net(): Promise<void> {
  if (topo.namespaces().length) return;
  await topo.addHosts('a', 'b');
  await topo.link('a', 'eth0', 'b', 'eth0');
  await topo.addr('a', 'eth0', '198.18.250.1/24');
  await topo.addr('b', 'eth0', '198.18.250.2/24');
  // Link-local IPv6 addresses come with the links; wait for DAD to finish.
  for (const h of ['a', 'b']) {
    await waitFor(async () => {
      const out = await topo.ok(h, ['ip', '-6', 'addr', 'show', 'dev', 'eth0']);
      return out.includes('fe80') && !out.includes('tentative') ? true : null;
    }, 10_000, 100, `${h} link-local address`);
  }
}

function cli(host: string, mode: string, ep: object): { out: LineReader; done: Promise<void> } {
  const child = topo.spawn(host, [process.execPath, '--import', 'tsx', 'test/netns/sync/socket-cli.ts', mode, JSON.stringify(ep)]);
  const out = new LineReader(child.stdout, child.stderr);
  return { out, done: new Promise((r) => child.once('exit', () => r())) };
}

for (const fam of ['ipv4', 'ipv6'] as const) {
  test(`${fam}: a master's messages reach the backup's group on the interface, TTL as set, not looped back to the sender's host`, { skip, timeout: 60_000 }, async () => {
    await net();
    const ep = { interface: 'eth0', family: fam, group: fam === 'ipv4' ? '224.0.0.81' : 'ff02::8:8848', port: 8848, ttl: fam === 'ipv4' ? 1 : 2 };
    const cap = topo.spawn('b', ['tcpdump', '-p', '-n', '-v', '-l', '--immediate-mode', '-i', 'eth0', 'udp port 8848']);
    const capOut = new LineReader(cap.stdout, cap.stderr);
    await capOut.waitFor((l) => l.includes('listening on'), 5000, 'tcpdump');
    const b = cli('b', 'recv', ep);
    await b.out.waitFor((l) => l === 'ready', 15_000, 'receiver ready');
    const a = cli('a', 'both', { ...ep, count: 3 });
    await a.out.waitFor((l) => l === 'sent', 15_000, 'sent');
    await b.out.waitFor((l) => b.out.lines.filter((x) => x.startsWith('msg ')).length >= 3, 5000, 'three messages');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(b.out.lines.filter((x) => x.startsWith('msg ')), ['msg 0102030405060708', 'msg 090a0b0c0d0e0f10', 'msg 1112131415161718']);
    assert.deepEqual(a.out.lines.filter((x) => x.startsWith('msg ')), [], 'IP_MULTICAST_LOOP off: the sender\'s own receiver got nothing');
    assert.deepEqual(a.out.lines.filter((x) => x.startsWith('error') || x.startsWith('fatal')), []);
    await topo.kill(cap, 'SIGINT');
    const text = capOut.lines.join('\n');
    if (fam === 'ipv4') {
      assert.match(text, /ttl 1,/, 'TTL 1 (the kernel default)');
      assert.match(text, /198\.18\.250\.1\.\d+ > 224\.0\.0\.81\.8848/, 'from the interface\'s address (bind_mcastif_addr)');
    } else {
      assert.match(text, /hlim 2,/, 'hop limit as configured');
      assert.match(text, /fe80::[0-9a-f:]+\.\d+ > ff02::8:8848\.8848/);
    }
    for (const ch of [...topo.running('a'), ...topo.running('b')]) await topo.kill(ch);
  });
}
