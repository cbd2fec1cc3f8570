import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketAnnouncer, type AnnounceSocket } from '../../../src/io/announce.js';
import type { IfFacts, TxBatch } from '../../../src/io/af-packet.js';
import { LvsdError } from '../../../src/lib/errors.js';

const facts = (name: string): IfFacts => {
  if (name !== 'eth0') throw new LvsdError('ERR_IO_NO_INTERFACE', `no interface ${name}`);
  return { name, index: 2, mac: Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56), macText: '52:54:00:12:34:56', mtu: 1500, up: true };
};

class FakeSock implements AnnounceSocket {
  frames: string[] = [];
  tx: TxBatch | null = null;
  accept = Infinity;
  lastErrno = 0;
  closed = false;
  attachTx(b: TxBatch): number { this.tx = b; return b.offsets.length; }
  sendBatch(count: number, first = 0): number {
    const n = Math.min(count, this.accept);
    for (let i = first; i < first + n; i++) this.frames.push(Buffer.from(this.tx!.buf.subarray(this.tx!.offsets[i], this.tx!.offsets[i]! + this.tx!.lengths[i]!)).toString('hex'));
    if (n < count) this.lastErrno = 105;
    return n;
  }
  close(): void { this.closed = true; }
}

test('announce: one GARP per IPv4 and one NA per IPv6 address, one socket per interface, opened lazily', () => {
  const socks: FakeSock[] = [];
  const a = new PacketAnnouncer({ ifFacts: facts, open: () => { const s = new FakeSock(); socks.push(s); return s; }, ipv6Forwarding: () => true });
  assert.deepEqual(a.openInterfaces, []);
  assert.deepEqual(a.announce('eth0', ['198.18.0.10', '2001:db8::10', '198.18.0.11']), { sent: 3, failed: 0 });
  assert.deepEqual(a.announce('eth0', ['198.18.0.10']), { sent: 1, failed: 0 });
  assert.equal(socks.length, 1);
  const f = socks[0]!.frames;
  assert.equal(f.length, 4);
  assert.equal(f[0], 'ffffffffffff5254001234560806000108000604000152540012345 6c612000affffffffffffc612000a'.replace(/ /g, ''));
  assert.equal(f[1]!.slice(0, 28), '333300000001525400123456' + '86dd');
  assert.equal(f[1]!.slice(54 * 2 + 8, 54 * 2 + 10), 'a0', 'router flag from forwarding, override set');
  assert.equal(f[2]!.slice(56, 64), 'c612000b');
  assert.equal(a.sentTotal, 4);
});

test('announce: srcMac overrides the interface MAC in Ethernet source and sender hardware address', () => {
  const s = new FakeSock();
  const a = new PacketAnnouncer({ ifFacts: facts, open: () => s });
  a.announce('eth0', ['198.18.0.10'], '00:00:5e:00:01:33');
  assert.equal(s.frames[0]!.slice(12, 24), '00005e000133');
  assert.equal(s.frames[0]!.slice(44, 56), '00005e000133');
});

test('announce never throws: bad addresses, bad MAC, unknown interface, open failure and short sends are counted', () => {
  const s = new FakeSock();
  let opens = 0;
  const a = new PacketAnnouncer({ ifFacts: facts, open: () => { opens++; if (opens === 1) throw new Error('EPERM'); return s; } });
  assert.deepEqual(a.announce('eth0', ['198.18.0.10']), { sent: 0, failed: 1 });
  assert.equal(a.failures.open_failed, 1);
  assert.deepEqual(a.announce('eth0', ['nonsense', '198.18.0.10']), { sent: 1, failed: 1 });
  assert.equal(a.failures.bad_address, 1);
  assert.deepEqual(a.announce('eth0', ['198.18.0.10'], 'zz'), { sent: 0, failed: 1 });
  assert.equal(a.failures.bad_mac, 1);
  assert.deepEqual(a.announce('nope0', ['198.18.0.10', '198.18.0.11']), { sent: 0, failed: 2 });
  assert.equal(a.failures.no_interface, 2);
  s.accept = 0;
  assert.deepEqual(a.announce('eth0', ['198.18.0.10', '198.18.0.11']), { sent: 0, failed: 2 });
  assert.equal(a.failures.send_failed, 2);
  assert.equal(a.lastErrno, 105);
  assert.ok(s.closed, 'a failing socket is dropped so the next call reopens');
});

test('announce: a short send reopens the socket once and sends the rest', () => {
  const first = new FakeSock();
  first.accept = 1;
  const second = new FakeSock();
  const socks = [first, second];
  const a = new PacketAnnouncer({ ifFacts: facts, open: () => socks.shift()! });
  assert.deepEqual(a.announce('eth0', ['198.18.0.10', '198.18.0.11', '198.18.0.12']), { sent: 3, failed: 0 });
  assert.equal(first.frames.length, 1);
  assert.equal(second.frames.length, 2);
  a.close();
  assert.ok(second.closed);
});

test('announce: more addresses than one batch go out in several sendmmsg calls', () => {
  const s = new FakeSock();
  const a = new PacketAnnouncer({ ifFacts: facts, open: () => s });
  const addrs = Array.from({ length: 600 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  assert.deepEqual(a.announce('eth0', addrs), { sent: 600, failed: 0 });
  assert.equal(new Set(s.frames).size, 600);
});
