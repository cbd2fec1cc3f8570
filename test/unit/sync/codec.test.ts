import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createSyncEntry, decodeMessage, entrySize, readEntry, syncMaxLen, writeEntry, type SyncDropReason, type SyncEntry,
  ENTRY_V4_LEN, ENTRY_V6_LEN, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_NOOUTPUT, IP_VS_CONN_F_TEMPLATE,
  IP_VS_CONN_F_HASHED, LVSD_OPT_CLIENT_MAC, MESG_HEADER_LEN,
} from '../../../src/sync/codec.js';
import { MessageBuilder } from '../../../src/sync/batcher.js';
import { refDecodeV0, refDecodeV1 } from './reference.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/[\s|]+/g, ''), 'hex'));
const ip4 = (s: string) => s.split('.').reduce((a, x) => ((a << 8) | Number(x)) >>> 0, 0);

/** Decodes a message, collecting copies of the good entries. */
function decode(buf: Uint8Array, syncId = 0) {
  const entries: SyncEntry[] = [];
  const r = decodeMessage(buf, syncId, createSyncEntry(), (e) => {
    const c = createSyncEntry();
    Object.assign(c, { ...e, caddr: c.caddr, vaddr: c.vaddr, daddr: c.daddr, seq: c.seq });
    c.caddr.set(e.caddr); c.vaddr.set(e.vaddr); c.daddr.set(e.daddr); c.seq.set(e.seq);
    entries.push(c);
  });
  return { ...r, entries };
}

function entry(o: Partial<Omit<SyncEntry, 'caddr' | 'vaddr' | 'daddr' | 'seq'>> & { c?: number[]; v?: number[]; d?: number[] } = {}): SyncEntry {
  const e = createSyncEntry();
  const { c, v, d, ...rest } = o;
  Object.assign(e, { fam: 4, proto: 6, state: 1, cport: 40000, vport: 80, dport: 8080, timeoutS: 900, ...rest });
  e.caddr.set(c ?? [ip4('198.18.0.100'), 0, 0, 0]);
  e.vaddr.set(v ?? [ip4('198.18.0.10'), 0, 0, 0]);
  e.daddr.set(d ?? [ip4('198.18.1.11'), 0, 0, 0]);
  return e;
}

function message(entries: SyncEntry[], syncId = 7, maxLen = 1472): Uint8Array[] {
  const b = new MessageBuilder(syncId, maxLen);
  const out: Uint8Array[] = [];
  for (const e of entries) {
    const buf = new Uint8Array(entrySize(e));
    writeEntry(new DataView(buf.buffer), 0, e);
    const m = b.add(buf, 0, buf.length, 0);
    if (m) out.push(m);
  }
  const last = b.take();
  if (last) out.push(last);
  return out;
}

// Fixture 1, written by hand from struct ip_vs_sync_mesg + ip_vs_sync_v4: syncid 7, one
// TCP ESTABLISHED NAT connection 198.18.0.100:40000 -> 198.18.0.10:80 -> 198.18.1.11:8080, timeout 900 s.
const FIXTURE_V4 = `
  00 07 002c 01 01 0000
  00 06 0024 | 00000000 | 0001 9c40 | 0050 1f90 | 00000000 | 00000384 | c6120064 | c612000a | c612010b`;

test('a hand-written version 1 message (kernel struct layout) decodes to its fields', () => {
  const buf = hex(FIXTURE_V4);
  const r = decode(buf, 7);
  assert.equal(r.version, 1);
  assert.equal(r.abort, null);
  assert.deepEqual(r.dropped, []);
  assert.equal(r.entries.length, 1);
  const e = r.entries[0]!;
  assert.equal(e.fam, 4);
  assert.equal(e.proto, 6);
  assert.equal(e.state, 1);
  assert.equal(e.flags, 0);
  assert.equal(e.cport, 40000);
  assert.equal(e.vport, 80);
  assert.equal(e.dport, 8080);
  assert.equal(e.timeoutS, 900);
  assert.equal(e.caddr[0], ip4('198.18.0.100'));
  assert.equal(e.vaddr[0], ip4('198.18.0.10'));
  assert.equal(e.daddr[0], ip4('198.18.1.11'));
  // And the encoder writes exactly these bytes.
  assert.deepEqual(message([entry()])[0], buf);
});

// Fixture 2: a persistence template (flags TEMPLATE, protocol TCP, cport 0, timeout 300 s,
// client net 198.18.0.0), then an IPv6 DR connection, inactive, with the client MAC option
// and a sequence option, then an IPv4 UDP connection. Padding: the v6 entry is 72 + 26 + 8 =
// 106 bytes, so two zero bytes follow it.
const FIXTURE_MIXED = `
  00 07 00bc 03 01 0000
  00 06 0024 | 00001000 | 0000 0000 | 0050 0050 | 00000000 | 0000012c | c6120000 | c612000a | c612010b
  01 06 006a | 00000183 | 0004 a000 | 01bb 01bb | 00000005 | 0000003c
     20010db8000000000000000000000064 20010db800000000000000000000000a 20010db8000000010000000000000011
     01 18 000003e8 00000000 00000000 000007d0 00000010 00000000
     50 06 020000000064
     0000
  00 11 0024 | 00000000 | 0000 3039 | 0035 0035 | 00000000 | 0000012c | c6120064 | c612000a | c612010c`;

test('a template, an IPv6 entry with options and padding, and a UDP entry: the codec and the reference agree', () => {
  const buf = hex(FIXTURE_MIXED);
  assert.equal(buf.length, 0xbc);
  const ref = refDecodeV1(buf);
  const r = decode(buf, 0);
  assert.equal(r.abort, null);
  assert.equal(r.entries.length, 3);
  assert.equal(ref.conns.length, 3);
  const [t, v6, u] = r.entries as [SyncEntry, SyncEntry, SyncEntry];
  assert.equal(t.flags, IP_VS_CONN_F_TEMPLATE);
  assert.equal(t.timeoutS, 300);
  assert.equal(v6.fam, 6);
  assert.equal(v6.flags, IP_VS_CONN_F_DROUTE | IP_VS_CONN_F_NOOUTPUT | IP_VS_CONN_F_INACTIVE);
  assert.equal(v6.state, 4);
  assert.equal(v6.fwmark, 5);
  assert.equal(v6.hasSeq, true);
  assert.deepEqual([...v6.seq], [1000, 0, 0, 2000, 16, 0]);
  assert.equal(v6.hasMac, true);
  assert.equal(v6.macHi, 0x0200);
  assert.equal(v6.macLo, 0x00000064);
  assert.deepEqual([...v6.caddr], [0x20010db8, 0, 0, 0x64]);
  assert.equal(u.proto, 17);
  assert.equal(u.state, 0);
  assert.deepEqual(ref.conns.map((c) => c.options.map((o) => o.type)), [[], [1, LVSD_OPT_CLIENT_MAC], []]);
  assert.equal(ref.conns[1]!.caddr, '2001:db8:0:0:0:0:0:64');
  // Re-encoding the decoded entries gives the same bytes.
  assert.deepEqual(message(r.entries)[0], buf);
});

test('random entries round-trip through the builder, the codec and the reference decoder', () => {
  let x = 12345;
  const rnd = (n: number) => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x % n; };
  for (let round = 0; round < 200; round++) {
    const n = 1 + rnd(60);
    const list: SyncEntry[] = [];
    for (let i = 0; i < n; i++) {
      const fam = rnd(2) ? 6 : 4;
      const tmpl = rnd(4) === 0;
      const proto = rnd(3) === 0 ? 17 : 6;
      const words = () => fam === 4 ? [rnd(2 ** 32), 0, 0, 0] : [rnd(2 ** 32), rnd(2 ** 32), rnd(2 ** 32), rnd(2 ** 32)];
      const e = entry({
        fam, proto, flags: (tmpl ? IP_VS_CONN_F_TEMPLATE : 0) | (rnd(2) ? IP_VS_CONN_F_INACTIVE : 0) | rnd(4),
        state: proto === 17 || tmpl ? 0 : rnd(11), cport: rnd(65536), vport: rnd(65536), dport: rnd(65536),
        fwmark: rnd(3) ? 0 : rnd(2 ** 32), timeoutS: rnd(100000), hasMac: rnd(2) === 1, macHi: rnd(65536), macLo: rnd(2 ** 32),
        hasSeq: rnd(5) === 0, c: words(), v: words(), d: words(),
      });
      if (e.hasSeq) for (let k = 0; k < 6; k++) e.seq[k] = rnd(2 ** 32);
      list.push(e);
    }
    const maxLen = [1472, 200, 1, 9000][rnd(4)]!;
    const msgs = message(list, 9, maxLen);
    const got: SyncEntry[] = [];
    for (const m of msgs) {
      assert.ok(m.length <= Math.max(maxLen, MESG_HEADER_LEN + ENTRY_V6_LEN + 34), `message ${m.length} within maxlen ${maxLen}`);
      const ref = refDecodeV1(m);
      const r = decode(m, 9);
      assert.equal(r.abort, null);
      assert.equal(r.entries.length, ref.nr_conns);
      r.entries.forEach((e, k) => {
        const c = ref.conns[k]!;
        assert.equal(c.flags, e.flags);
        assert.equal(c.state, e.state);
        assert.equal(c.cport, e.cport);
        assert.equal(c.fwmark, e.fwmark);
        assert.equal(c.timeout, e.timeoutS);
        assert.equal(c.type, e.fam === 6 ? 1 : 0);
        assert.equal(c.size, entrySize(e));
      });
      got.push(...r.entries);
    }
    assert.equal(got.length, list.length);
    got.forEach((e, k) => {
      const w = list[k]!;
      for (const f of ['fam', 'proto', 'flags', 'state', 'cport', 'vport', 'dport', 'fwmark', 'timeoutS', 'hasMac', 'hasSeq'] as const) {
        assert.equal(e[f], w[f], `${f} of entry ${k}`);
      }
      assert.deepEqual([...e.caddr], [...w.caddr]);
      assert.deepEqual([...e.daddr], [...w.daddr]);
      if (w.hasMac) assert.deepEqual([e.macHi, e.macLo], [w.macHi, w.macLo]);
      if (w.hasSeq) assert.deepEqual([...e.seq], [...w.seq]);
    });
  }
});

test('the encoder clears IP_VS_CONN_F_HASHED, as ip_vs_sync_conn does', () => {
  const [m] = message([entry({ flags: IP_VS_CONN_F_HASHED | IP_VS_CONN_F_INACTIVE })]);
  assert.equal(refDecodeV1(m!).conns[0]!.flags, IP_VS_CONN_F_INACTIVE);
});

test('a message is cut before an entry that would pass maxlen, and at 255 entries', () => {
  const list = Array.from({ length: 100 }, () => entry());
  const msgs = message(list, 1, 1472);
  // (1472 - 8) / 36 = 40 entries per message.
  assert.deepEqual(msgs.map((m) => refDecodeV1(m).nr_conns), [40, 40, 20]);
  const many = message(Array.from({ length: 300 }, () => entry()), 1, 60000);
  assert.deepEqual(many.map((m) => refDecodeV1(m).nr_conns), [255, 45]);
});

test('a non-full message waits IPVS_SYNC_FLUSH_TIME (2 s) from its first entry', () => {
  const b = new MessageBuilder(1, 1472);
  const e = entry();
  const buf = new Uint8Array(ENTRY_V4_LEN);
  writeEntry(new DataView(buf.buffer), 0, e);
  assert.equal(b.add(buf, 0, buf.length, 1000), null);
  b.add(buf, 0, buf.length, 2500);
  assert.equal(b.takeIfOlder(2999), null);
  const m = b.takeIfOlder(3000);
  assert.ok(m);
  assert.equal(refDecodeV1(m).nr_conns, 2);
  assert.equal(b.takeIfOlder(10_000), null);
});

// Version 0 (struct ip_vs_sync_mesg_v0 + ip_vs_sync_conn_v0), written by hand: two TCP
// connections, the second with IN_SEQ and its 24 bytes of options.
const FIXTURE_V0 = `
  02 07 004c
  00 06 9c40 0050 1f90 c6120064 c612000a c612010b 0000 0001
  00 06 9c41 0050 1f90 c6120065 c612000a c612010b 0400 0004 000003e8 00000000 00000000 000007d0 00000010 00000000`;

test('a version 0 message decodes (IPv4, 16-bit flags, no timeout), as a v1 backup reads it', () => {
  const buf = hex(FIXTURE_V0);
  const ref = refDecodeV0(buf);
  const r = decode(buf, 7);
  assert.equal(r.version, 0);
  assert.equal(r.abort, null);
  assert.equal(r.entries.length, 2);
  assert.equal(ref.conns.length, 2);
  const [a, b] = r.entries as [SyncEntry, SyncEntry];
  assert.equal(a.cport, ref.conns[0]!.cport);
  assert.equal(a.state, 1);
  assert.equal(a.timeoutS, 0);
  assert.equal(b.flags, 0x0400);
  assert.equal(b.hasSeq, true);
  assert.equal(b.state, 4);
  assert.equal(b.caddr[0], ip4(ref.conns[1]!.caddr));
});

/** The reason a (bad) message gets, whole or per entry. */
function reasonOf(buf: Uint8Array, syncId = 0): { abort: SyncDropReason | null; dropped: readonly SyncDropReason[]; good: number } {
  const r = decode(buf, syncId);
  return { abort: r.abort, dropped: r.dropped, good: r.entries.length };
}

const GOOD = `00 06 0024 00000000 0001 9c40 0050 1f90 00000000 00000384 c6120064 c612000a c612010b`;

test('bad messages are dropped by reason, never thrown, as ip_vs_process_message/ip_vs_proc_sync_conn decide', () => {
  const cases: { name: string; hex: string; syncId?: number; want: ReturnType<typeof reasonOf> }[] = [
    { name: 'shorter than a header', hex: '00 07 00', want: { abort: 'header_short', dropped: [], good: 0 } },
    { name: 'size field differs from the datagram', hex: `00 07 0030 01 01 0000 ${GOOD}`, want: { abort: 'bad_size', dropped: [], good: 0 } },
    { name: 'another syncid', hex: FIXTURE_V4, syncId: 8, want: { abort: 'syncid', dropped: [], good: 0 } },
    { name: 'nr_conns announces more than there is', hex: `00 07 002c 02 01 0000 ${GOOD}`, want: { abort: 'entry_truncated', dropped: [], good: 1 } },
    { name: 'entry size past the end', hex: `00 07 002c 01 01 0000 00 06 0028 ${GOOD.slice(10)}`, want: { abort: 'entry_overflow', dropped: [], good: 0 } },
    { name: 'entry version 1', hex: `00 07 002c 01 01 0000 00 06 1024 ${GOOD.slice(10)}`, want: { abort: 'entry_version', dropped: [], good: 0 } },
    { name: 'entry type 2', hex: `00 07 002c 01 01 0000 02 06 0024 ${GOOD.slice(10)}`, want: { abort: 'entry_type', dropped: [], good: 0 } },
    { name: 'IPv6 entry with a v4 size', hex: `00 07 002c 01 01 0000 01 06 0024 ${GOOD.slice(10)}`, want: { abort: 'entry_short', dropped: [], good: 0 } },
    { name: 'option of length 0', hex: `00 07 0030 01 01 0000 00 06 0028 ${GOOD.slice(10)} 50 00 0000`, want: { abort: 'option_length', dropped: [], good: 0 } },
    { name: 'option past the entry', hex: `00 07 0030 01 01 0000 00 06 0028 ${GOOD.slice(10)} 50 06 0200`, want: { abort: 'option_length', dropped: [], good: 0 } },
    { name: 'sequence option of the wrong size', hex: `00 07 0030 01 01 0000 00 06 0028 ${GOOD.slice(10)} 01 02 0000`, want: { abort: 'option_invalid', dropped: [], good: 0 } },
    { name: 'unknown mandatory option (entry dropped, next kept)', hex: `00 07 0054 02 01 0000 00 06 0028 ${GOOD.slice(10)} 05 02 0000 ${GOOD}`, want: { abort: null, dropped: ['option_unknown'], good: 1 } },
    { name: 'unknown optional option is skipped', hex: `00 07 0030 01 01 0000 00 06 0028 ${GOOD.slice(10)} 45 02 0000`, want: { abort: null, dropped: [], good: 1 } },
    { name: 'SCTP (not forwarded by lvsd)', hex: `00 07 002c 01 01 0000 00 84 0024 ${GOOD.slice(10)}`, want: { abort: null, dropped: ['protocol'], good: 0 } },
    { name: 'TCP state 11', hex: `00 07 002c 01 01 0000 00 06 0024 00000000 000b ${GOOD.slice(24)}`, want: { abort: null, dropped: ['state'], good: 0 } },
    { name: 'persistence-engine data (SIP)', hex: `00 07 0030 01 01 0000 00 06 0028 ${GOOD.slice(10)} 02 02 abcd`, want: { abort: null, dropped: ['pe'], good: 0 } },
    { name: 'v0 entry cut short', hex: '01 07 0012 00 06 9c40 0050 1f90 c6120064 c612', want: { abort: 'v0_truncated', dropped: [], good: 0 } },
  ];
  for (const c of cases) {
    const buf = hex(c.hex);
    let got: ReturnType<typeof reasonOf>;
    assert.doesNotThrow(() => { got = reasonOf(buf, c.syncId ?? 0); }, c.name);
    assert.deepEqual(got!, c.want, c.name);
  }
});

test('a template with an out-of-range state is kept (the kernel only logs it)', () => {
  const buf = hex(`00 07 002c 01 01 0000 00 06 0024 00001000 0007 ${GOOD.slice(24)}`);
  assert.deepEqual(reasonOf(buf), { abort: null, dropped: [], good: 1 });
});

test('truncating a valid message anywhere never throws', () => {
  const full = hex(FIXTURE_MIXED);
  for (let n = 0; n <= full.length; n++) {
    const cut = full.slice(0, n);
    // Keep the size field consistent so the entry checks run.
    if (n >= 4) new DataView(cut.buffer).setUint16(2, n);
    assert.doesNotThrow(() => decode(cut, 0));
  }
  const dv = new DataView(new ArrayBuffer(8));
  assert.equal(readEntry(dv, 0, 8, createSyncEntry()).ok, false);
});

test('maxlen as start_sync_thread computes it', () => {
  assert.equal(syncMaxLen('master', 4, 9000, null), 1472, 'the master uses 1500 whatever the MTU');
  assert.equal(syncMaxLen('backup', 4, 9000, null), 8972, 'the backup uses the interface MTU');
  assert.equal(syncMaxLen('backup', 4, 1280, null), 1472, 'clamped to at least 1500');
  assert.equal(syncMaxLen('master', 6, 1500, null), 1452);
  assert.equal(syncMaxLen('master', 4, 1500, 500), 500);
  assert.equal(syncMaxLen('backup', 4, 1500, 500), 1024, 'a backup reads at least 1024');
  assert.equal(syncMaxLen('master', 4, 1500, 70000), 65507);
});
