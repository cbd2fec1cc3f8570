/**
 * PACKET_VNET_HDR proven on real TCP: a → b → c where b forwards with a small TypeScript
 * forwarder on AF_PACKET sockets. veth carries TCP as GSO super-frames (up to 64 KB, TSO on
 * the sender) with CHECKSUM_PARTIAL; with the vnet header the forwarder receives them whole
 * and the kernel segments and checksums them on the way out. Without it, the very first
 * SYN already leaves b with an unfinished checksum and c drops it (InCsumErrors).
 *
 * The NAT cases also prove the checksum rule docs/native.md states: for a frame flagged
 * NEEDS_CSUM the TCP checksum field holds the non-complemented pseudo-header sum, so an
 * address rewrite adds (~old + new) to the field itself, whereas a complete checksum is
 * updated as ~(~C + ~old + new) (RFC 1624 eqn 3). Checksum offloads are switched off where
 * it matters so every segment's checksum is really computed from what we wrote and really
 * verified by the receiving TCP stack.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Topology, waitFor } from '../lib/netns.js';
import {
  inNetns, openPacketSocket, allocRxBatch, VNET_HDR_LEN, VNET_FLAGS, VNET_GSO_TYPE, VNET_F_NEEDS_CSUM, VNET_GSO_NONE,
  type PacketSocket, type RxBatch,
} from '../../../src/io/af-packet.js';
import { parseMac } from '../../../src/lib/mac.js';

const t = new Topology('io');
const XFER = fileURLToPath(new URL('./fixtures/tcp-xfer.mjs', import.meta.url));
const MAC = { a0: '02:40:00:00:00:a0', b0: '02:40:00:00:00:b0', b1: '02:40:00:00:00:b1', c0: '02:40:00:00:00:c0' };
const IP_A = 0xc6120201; // 198.18.2.1
const IP_C = 0xc6120202; // 198.18.2.2
const IP_VIP = 0xc6120264; // 198.18.2.100
const dir = mkdtempSync(join(tmpdir(), 'lvt-io-vnet-'));
const sockets: PacketSocket[] = [];

before(async () => {
  await t.addHosts('a', 'b', 'c');
  await t.link('a', 'a0', 'b', 'b0', { macA: MAC.a0, macB: MAC.b0 });
  await t.link('b', 'b1', 'c', 'c0', { macA: MAC.b1, macB: MAC.c0 });
  for (const [h, i] of [['a', 'a0'], ['b', 'b0'], ['b', 'b1'], ['c', 'c0']] as const) await t.sysctl(h, `net.ipv6.conf.${i}.disable_ipv6`, '1');
  await t.addr('a', 'a0', '198.18.2.1/24');
  await t.addr('c', 'c0', '198.18.2.2/24');
  // Next hops point at b's MACs: b is a userspace "wire" (or NAT) between a and c.
  await t.ok('a', ['ip', 'neigh', 'replace', '198.18.2.2', 'lladdr', MAC.b0, 'dev', 'a0', 'nud', 'permanent']);
  await t.ok('a', ['ip', 'neigh', 'replace', '198.18.2.100', 'lladdr', MAC.b0, 'dev', 'a0', 'nud', 'permanent']);
  await t.ok('c', ['ip', 'neigh', 'replace', '198.18.2.1', 'lladdr', MAC.b1, 'dev', 'c0', 'nud', 'permanent']);
  // b's kernel must not answer what its forwarder handles (ARCHITECTURE D4): drop at netdev
  // ingress, after the AF_PACKET tap has seen the frames.
  const rules = join(dir, 'b.nft');
  writeFileSync(rules, [
    'table netdev lvt {',
    '  chain i0 { type filter hook ingress device "b0" priority 0; policy drop; }',
    '  chain i1 { type filter hook ingress device "b1" priority 0; policy drop; }',
    '}',
    '',
  ].join('\n'));
  await t.ok('b', ['nft', '-f', rules]);
});
after(async () => {
  for (const s of sockets) s.close();
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

type Rewrite = (b: Uint8Array, dv: DataView, frame: number, vnet: number) => void;

/** One direction of b's forwarder: receive on `from`, rewrite MACs (and maybe IPs) in place, send on `to`. */
class Direction {
  frames = 0;
  /** IPv4 TCP frames by source port (ARP, IPv6 neighbour discovery and the FIN retransmits of an earlier test's connections cross too). */
  readonly tcpBySrcPort = new Map<number, number>();
  gsoFrames = 0;
  maxLen = 0;
  partial = 0;
  full = 0;
  sendShort = 0;
  readonly errnos = new Set<number>();
  private readonly rx: RxBatch;
  private readonly dv: DataView;
  private readonly from: PacketSocket;
  private readonly to: PacketSocket;
  private readonly dst: Uint8Array;
  private readonly src: Uint8Array;
  private readonly rewrite: Rewrite | null;
  constructor(from: PacketSocket, to: PacketSocket, dst: Uint8Array, src: Uint8Array, rewrite: Rewrite | null) {
    this.from = from;
    this.to = to;
    this.dst = dst;
    this.src = src;
    this.rewrite = rewrite;
    this.rx = from.ring ? from.attachRx(undefined, 256) : from.vnetHdr ? from.attachRx() : from.attachRx(allocRxBatch(16, 65536));
    this.dv = new DataView(this.rx.buf.buffer, this.rx.buf.byteOffset, this.rx.buf.byteLength);
    to.attachTx(this.rx);
    from.start(() => this.drain());
  }
  private drain(): void {
    const pre = this.from.vnetHdr ? VNET_HDR_LEN : 0;
    const b = this.rx.buf;
    for (let round = 0; round < 64; round++) {
      const n = this.from.recvBatch();
      if (n === 0) return;
      for (let i = 0; i < n; i++) {
        const o = this.rx.offsets[i]!;
        const f = o + pre;
        this.frames++;
        if (b[f + 12] === 0x08 && b[f + 13] === 0x00 && b[f + 23] === 6) {
          const sport = this.dv.getUint16(f + 14 + (b[f + 14]! & 15) * 4);
          this.tcpBySrcPort.set(sport, (this.tcpBySrcPort.get(sport) ?? 0) + 1);
        }
        if (this.rx.lengths[i]! - pre > this.maxLen) this.maxLen = this.rx.lengths[i]! - pre;
        if (pre && b[o + VNET_GSO_TYPE] !== VNET_GSO_NONE) this.gsoFrames++;
        b.set(this.dst, f);
        b.set(this.src, f + 6);
        if (this.rewrite) {
          if (pre && (b[o + VNET_FLAGS]! & VNET_F_NEEDS_CSUM)) this.partial++;
          else this.full++;
          this.rewrite(b, this.dv, f, pre ? o : -1);
        }
      }
      let sent = 0;
      for (let k = 0; k < 100 && sent < n; k++) {
        const r = this.to.sendBatch(n - sent, sent);
        if (r === 0) {
          this.errnos.add(this.to.lastErrno);
          if (this.to.lastErrno !== 11 && this.to.lastErrno !== 105) { sent++; this.sendShort++; } // skip a frame the kernel refuses
        }
        sent += r;
      }
    }
  }
}

function startForwarder(vnetHdr: boolean, rewrite: { ab: Rewrite; ba: Rewrite } | null, ring = false): { ab: Direction; ba: Direction } {
  const B = `/run/netns/${t.ns('b')}`;
  const o = { vnetHdr, ...(ring ? { ring: { blockSize: 1 << 20, blockCount: 16, retireMs: 1 } } : {}) };
  const [s0, s1] = inNetns(B, () => [openPacketSocket('b0', o), openPacketSocket('b1', o)]);
  sockets.push(s0!, s1!);
  return {
    ab: new Direction(s0!, s1!, parseMac(MAC.c0)!, parseMac(MAC.b1)!, rewrite?.ab ?? null),
    ba: new Direction(s1!, s0!, parseMac(MAC.a0)!, parseMac(MAC.b0)!, rewrite?.ba ?? null),
  };
}

function stopForwarder(): void {
  for (const s of sockets.splice(0)) s.close();
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** RFC 1624 eqn 3 for a complete checksum: HC' = ~(~HC + ~m + m'), m a 32-bit address. */
function fullReplace4(c: number, oldV: number, newV: number): number {
  return ~fold((~c & 0xffff) + (~oldV >>> 16 & 0xffff) + (~oldV & 0xffff) + (newV >>> 16) + (newV & 0xffff)) & 0xffff;
}

/** The same change for a CHECKSUM_PARTIAL field (non-complemented pseudo-header sum): P' = P + ~m + m'. */
function partialReplace4(p: number, oldV: number, newV: number): number {
  return fold(p + (~oldV >>> 16 & 0xffff) + (~oldV & 0xffff) + (newV >>> 16) + (newV & 0xffff));
}

/** A NAT rewrite of one IPv4 address field of TCP frames (12 = source, 16 = destination). */
function nat(field: 12 | 16, from: number, to: number, partialRule: 'right' | 'wrong'): Rewrite {
  return (b, dv, f, vnet) => {
    if (dv.getUint16(f + 12) !== 0x0800) return;
    const ip = f + 14;
    if (b[ip + 9] !== 6 || dv.getUint32(ip + field) !== from) return;
    dv.setUint32(ip + field, to);
    dv.setUint16(ip + 10, fullReplace4(dv.getUint16(ip + 10), from, to)); // IPv4 header checksum is never offloaded
    const th = ip + (b[ip]! & 15) * 4;
    const c = dv.getUint16(th + 16);
    const partial = vnet >= 0 && (b[vnet + VNET_FLAGS]! & VNET_F_NEEDS_CSUM) !== 0;
    dv.setUint16(th + 16, partial && partialRule === 'right' ? partialReplace4(c, from, to) : fullReplace4(c, from, to));
  };
}

async function transfer(dirn: 'a-to-c' | 'c-to-a', target: string, bytes: number, timeoutMs: number): Promise<{ ok: boolean; got: string; want: string; port: number }> {
  const file = join(dir, `data-${bytes}`);
  const data = randomBytes(bytes);
  writeFileSync(file, data);
  const want = `${bytes} ${createHash('sha256').update(data).digest('hex')}`;
  const port = String(5000 + Math.floor(Math.random() * 1000));
  const server = dirn === 'a-to-c' ? t.spawn('c', ['node', XFER, 'serve-recv', '198.18.2.2', port]) : t.spawn('c', ['node', XFER, 'serve-send', '198.18.2.2', port, file]);
  let serverOut = '';
  server.stdout!.on('data', (b: Buffer) => (serverOut += b.toString()));
  await waitFor(() => serverOut.includes('listening'), 5000, 10, 'server listening');
  const client = dirn === 'a-to-c' ? t.spawn('a', ['node', XFER, 'send', target, port, file]) : t.spawn('a', ['node', XFER, 'recv', target, port]);
  let clientOut = '';
  client.stdout!.on('data', (b: Buffer) => (clientOut += b.toString()));
  const resultOf = () => (dirn === 'a-to-c' ? serverOut : clientOut).split('\n').find((l) => /^\d+ [0-9a-f]{64}$/.test(l));
  try {
    const got = await waitFor(resultOf, timeoutMs, 20, 'transfer result');
    return { ok: got === want, got, want, port: Number(port) };
  } catch {
    return { ok: false, got: resultOf() ?? '(incomplete)', want, port: Number(port) };
  } finally {
    await t.kill(client, 'SIGKILL');
    await t.kill(server, 'SIGKILL');
  }
}

test('vnet_hdr: a 4 MB TCP transfer a → c through the MAC-rewriting forwarder completes intact, with GSO super-frames crossing', async () => {
  const f = startForwarder(true, null);
  try {
    const r = await transfer('a-to-c', '198.18.2.2', 4 << 20, 20_000);
    assert.ok(r.ok, `got ${r.got}, want ${r.want}`);
    assert.ok(f.ab.gsoFrames > 0, 'GSO super-frames were received with their vnet header');
    assert.ok(f.ab.maxLen > 1514, `frames larger than the MTU crossed: max ${f.ab.maxLen}`);
    console.log(`vnet_hdr forward a→c: ${f.ab.frames} frames (${f.ab.gsoFrames} GSO, max ${f.ab.maxLen} B), c→a: ${f.ba.frames}`);
  } finally {
    stopForwarder();
  }
});

test('vnet_hdr on the TPACKET_V3 ring: the same 4 MB transfer, forwarded zero-copy straight out of the ring', async () => {
  const f = startForwarder(true, null, true);
  try {
    const r = await transfer('a-to-c', '198.18.2.2', 4 << 20, 20_000);
    assert.ok(r.ok, `got ${r.got}, want ${r.want}`);
    assert.ok(f.ab.gsoFrames > 0 && f.ab.maxLen > 1514, `GSO super-frames through the ring: ${f.ab.gsoFrames}, max ${f.ab.maxLen}`);
  } finally {
    stopForwarder();
  }
});

test('control: without vnet_hdr the forwarded frames carry unfinished (partial) checksums and the receiver drops them', async () => {
  const before = await tcpInCsumErrors('c');
  const f = startForwarder(false, null);
  try {
    const r = await transfer('a-to-c', '198.18.2.2', 1 << 20, 3000);
    assert.equal(r.ok, false, 'the transfer must not complete');
    assert.ok(f.ab.frames > 0, 'a\'s SYNs reached the forwarder');
    assert.equal(f.ba.tcpBySrcPort.get(r.port) ?? 0, 0, `c's server (port ${r.port}) never answered`);
    const after = await tcpInCsumErrors('c');
    assert.ok(after > before, `c counted TCP checksum errors: ${before} → ${after}`);
  } finally {
    stopForwarder();
  }
});

/** TCP InCsumErrors from /proc/net/snmp in a host's namespace. */
async function tcpInCsumErrors(host: string): Promise<number> {
  const lines = (await t.ok(host, ['cat', '/proc/net/snmp'])).split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('InCsumErrors')]);
}

async function offloadsForNat(): Promise<void> {
  // a sends complete checksums (tx off) and verifies what it receives (rx off); b's egress
  // checksums and segments in software (tx off); c sends GSO + CHECKSUM_PARTIAL (tx on) and
  // verifies what it receives (rx off).
  await t.ok('a', ['ethtool', '-K', 'a0', 'tx', 'off', 'rx', 'off']);
  await t.ok('b', ['ethtool', '-K', 'b0', 'tx', 'off']);
  await t.ok('b', ['ethtool', '-K', 'b1', 'tx', 'off']);
  await t.ok('c', ['ethtool', '-K', 'c0', 'rx', 'off']);
}

test('NAT with vnet_hdr: 4 MB c → a via a VIP; partial checksums updated as P + ~old + new, complete ones per RFC 1624', async () => {
  await offloadsForNat();
  const f = startForwarder(true, { ab: nat(16, IP_VIP, IP_C, 'right'), ba: nat(12, IP_C, IP_VIP, 'right') });
  try {
    const r = await transfer('c-to-a', '198.18.2.100', 4 << 20, 20_000);
    assert.ok(r.ok, `got ${r.got}, want ${r.want}`);
    assert.ok(f.ba.partial > 0 && f.ba.gsoFrames > 0, `c's GSO/partial frames rewritten: ${f.ba.partial} partial, ${f.ba.gsoFrames} GSO`);
    assert.ok(f.ab.full > 0, `a's complete checksums rewritten: ${f.ab.full}`);
    console.log(`NAT c→a: ${f.ba.frames} frames (${f.ba.partial} partial-csum, ${f.ba.gsoFrames} GSO, max ${f.ba.maxLen} B); a→c: ${f.ab.full} complete-csum`);
  } finally {
    stopForwarder();
  }
});

test('control: NAT that updates partial checksums like complete ones corrupts every segment and the transfer fails', async () => {
  await offloadsForNat();
  const before = await tcpInCsumErrors('a');
  const f = startForwarder(true, { ab: nat(16, IP_VIP, IP_C, 'wrong'), ba: nat(12, IP_C, IP_VIP, 'wrong') });
  try {
    const r = await transfer('c-to-a', '198.18.2.100', 1 << 20, 3000);
    assert.equal(r.ok, false, 'bad checksums must be dropped by a');
    assert.ok(f.ba.partial > 0);
    const after = await tcpInCsumErrors('a');
    assert.ok(after > before, `a counted TCP checksum errors: ${before} → ${after}`);
  } finally {
    stopForwarder();
  }
});
