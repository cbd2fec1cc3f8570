/**
 * A naive reference decoder of IPVS sync messages, written field by field from the kernel's
 * structs in net/netfilter/ipvs/ip_vs_sync.c (struct ip_vs_sync_mesg, ip_vs_sync_v4,
 * ip_vs_sync_v6, the option list; struct ip_vs_sync_mesg_v0, ip_vs_sync_conn_v0), with
 * Buffer reads and no shared code with src/sync/codec.ts. It accepts only well-formed
 * messages (it throws otherwise) and returns plain objects.
 */

export interface RefConn {
  type: number;
  protocol: number;
  version: number;
  size: number;
  flags: number;
  state: number;
  cport: number;
  vport: number;
  dport: number;
  fwmark: number;
  timeout: number;
  caddr: string;
  vaddr: string;
  daddr: string;
  options: { type: number; data: string }[];
}

export interface RefMessage {
  reserved: number;
  syncid: number;
  size: number;
  nr_conns: number;
  version: number;
  spare: number;
  conns: RefConn[];
}

function addr(b: Buffer, at: number, len: 4 | 16): string {
  if (len === 4) return [...b.subarray(at, at + 4)].join('.');
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(at + i).toString(16));
  return parts.join(':');
}

/** struct ip_vs_sync_mesg + entries (version 1). */
export function refDecodeV1(bytes: Uint8Array): RefMessage {
  const b = Buffer.from(bytes);
  const m: RefMessage = {
    reserved: b.readUInt8(0),
    syncid: b.readUInt8(1),
    size: b.readUInt16BE(2),
    nr_conns: b.readUInt8(4),
    version: b.readInt8(5),
    spare: b.readUInt16BE(6),
    conns: [],
  };
  if (m.reserved !== 0 || m.version !== 1 || m.spare !== 0) throw new Error('not a version 1 message');
  if (m.size !== b.length) throw new Error(`size ${m.size} != ${b.length}`);
  let p = 8;
  for (let i = 0; i < m.nr_conns; i++) {
    const type = b.readUInt8(p);
    const v6 = (type & 1) === 1;
    const verSize = b.readUInt16BE(p + 2);
    const c: RefConn = {
      type,
      protocol: b.readUInt8(p + 1),
      version: verSize >> 12,
      size: verSize & 0x0fff,
      flags: b.readUInt32BE(p + 4),
      state: b.readUInt16BE(p + 8),
      cport: b.readUInt16BE(p + 10),
      vport: b.readUInt16BE(p + 12),
      dport: b.readUInt16BE(p + 14),
      fwmark: b.readUInt32BE(p + 16),
      timeout: b.readUInt32BE(p + 20),
      caddr: addr(b, p + 24, v6 ? 16 : 4),
      vaddr: addr(b, p + (v6 ? 40 : 28), v6 ? 16 : 4),
      daddr: addr(b, p + (v6 ? 56 : 32), v6 ? 16 : 4),
      options: [],
    };
    let o = p + (v6 ? 72 : 36);
    const end = p + c.size;
    while (o < end) {
      const t = b.readUInt8(o);
      const l = b.readUInt8(o + 1);
      c.options.push({ type: t, data: b.subarray(o + 2, o + 2 + l).toString('hex') });
      o += 2 + l;
    }
    if (o !== end) throw new Error('options overrun the entry');
    m.conns.push(c);
    p += (c.size + 3) & ~3;
  }
  return m;
}

export interface RefConnV0 {
  protocol: number;
  cport: number;
  vport: number;
  dport: number;
  caddr: string;
  vaddr: string;
  daddr: string;
  flags: number;
  state: number;
  options: string | null;
}

/** struct ip_vs_sync_mesg_v0 + ip_vs_sync_conn_v0 entries. */
export function refDecodeV0(bytes: Uint8Array): { nr_conns: number; syncid: number; size: number; conns: RefConnV0[] } {
  const b = Buffer.from(bytes);
  const nr = b.readUInt8(0);
  const out = { nr_conns: nr, syncid: b.readUInt8(1), size: b.readUInt16BE(2), conns: [] as RefConnV0[] };
  let p = 4;
  for (let i = 0; i < nr; i++) {
    const flags = b.readUInt16BE(p + 20);
    const full = (flags & 0x0600) !== 0;
    out.conns.push({
      protocol: b.readUInt8(p + 1),
      cport: b.readUInt16BE(p + 2),
      vport: b.readUInt16BE(p + 4),
      dport: b.readUInt16BE(p + 6),
      caddr: addr(b, p + 8, 4),
      vaddr: addr(b, p + 12, 4),
      daddr: addr(b, p + 16, 4),
      flags,
      state: b.readUInt16BE(p + 22),
      options: full ? b.subarray(p + 24, p + 48).toString('hex') : null,
    });
    p += full ? 48 : 24;
  }
  return out;
}
