/**
 * The IPVS connection synchronisation protocol (Linux net/netfilter/ipvs/ip_vs_sync.c), as
 * the kernel's sync daemons speak it over UDP multicast: version 1 messages (the kernel's
 * default, `net.ipv4.vs.sync_version = 1`) are encoded and decoded, version 0 messages are
 * decoded (a v1 backup reads both, `ip_vs_process_message()`).
 *
 * Version 1 message (`struct ip_vs_sync_mesg`, every field network order):
 *
 *     0 reserved (0)  1 syncid  2-3 size (whole message)  4 nr_conns  5 version (1)  6-7 spare (0)
 *     then nr_conns entries, each starting on a 4-byte boundary (padding between entries
 *     counts in `size`, none after the last):
 *
 *     `struct ip_vs_sync_v4` (36 bytes) / `ip_vs_sync_v6` (72 bytes):
 *       0 type (bit 0 = IPv6)  1 protocol  2-3 ver_size (version << 12 | entry size)
 *       4-7 flags (IP_VS_CONN_F_*, HASHED cleared)  8-9 state  10-11 cport  12-13 vport
 *       14-15 dport  16-19 fwmark  20-23 timeout (s)  then caddr, vaddr, daddr (4 or 16 bytes each)
 *     then options `type, length, data`: IPVS_OPT_SEQ_DATA (1: in_seq, out_seq, 12 bytes
 *     each), IPVS_OPT_PE_DATA (2), IPVS_OPT_PE_NAME (3); a type with bit 6 (IPVS_OPT_F_PARAM)
 *     set is optional, and a receiver that does not know it skips it.
 *
 * lvsd adds one optional parameter, LVSD_OPT_CLIENT_MAC (0x50 = IPVS_OPT_F_PARAM | 16, six
 * bytes): the MAC the client's frames came from. The kernel has no use for it (it routes
 * NAT replies), lvsd's forwarding core sends them to that MAC (ARCHITECTURE D7); a kernel
 * backup skips it (`ip_vs_proc_sync_conn()`: unknown types with IPVS_OPT_F_PARAM are
 * ignored).
 *
 * Version 0 (`struct ip_vs_sync_mesg_v0` + 24-byte `ip_vs_sync_conn_v0`, IPv4 only, no
 * timeout or fwmark, sequence options as 24 raw bytes when the flags say IN_SEQ/OUT_SEQ).
 *
 * Pure and allocation-free on the entry path: `writeEntry` fills a caller's buffer from a
 * reused {@link SyncEntry}; `readEntry` fills one. Nothing throws on bad input: decoders
 * return a stable reason (`SyncDropReason`), which the caller counts, in the order and with
 * the outcome the kernel's checks have (whole rest of the message dropped, or one entry).
 */

/** SYNC_PROTO_VER. */
export const SYNC_PROTO_VER = 1;

/** Header sizes. */
export const MESG_HEADER_LEN = 8;
export const MESG_V0_HEADER_LEN = 4;
/** sizeof(struct ip_vs_sync_v4) / ip_vs_sync_v6. */
export const ENTRY_V4_LEN = 36;
export const ENTRY_V6_LEN = 72;
/** sizeof(struct ip_vs_sync_conn_v0) and with its options. */
export const ENTRY_V0_LEN = 24;
export const ENTRY_V0_FULL_LEN = 48;
/** sizeof(struct ip_vs_sync_conn_options): two ip_vs_seq of 3 × 32 bits. */
export const SEQ_OPTIONS_LEN = 24;
/** IP_VS_PEDATA_MAXLEN / IP_VS_PENAME_MAXLEN. */
export const PEDATA_MAXLEN = 255;
export const PENAME_MAXLEN = 16;

/** Entry type bit (STYPE_F_INET6). */
export const STYPE_F_INET6 = 1;
/** ver_size: version in the top 4 bits (SVER_SHIFT), size in the low 12 (SVER_MASK). */
export const SVER_SHIFT = 12;
export const SVER_MASK = 0x0fff;

/** Option types. */
export const IPVS_OPT_SEQ_DATA = 1;
export const IPVS_OPT_PE_DATA = 2;
export const IPVS_OPT_PE_NAME = 3;
/** Bit of an optional parameter type: 1 << (IPVS_OPT_PARAM - 1). */
export const IPVS_OPT_F_PARAM = 1 << 6;
/** lvsd's optional parameter: the client-side MAC (6 bytes). */
export const LVSD_OPT_CLIENT_MAC = IPVS_OPT_F_PARAM | 16;
/** Bytes LVSD_OPT_CLIENT_MAC adds to an entry (type, length, 6 bytes). */
export const CLIENT_MAC_OPT_LEN = 8;

// Connection flags (include/uapi/linux/ip_vs.h).
export const IP_VS_CONN_F_FWD_MASK = 0x0007;
export const IP_VS_CONN_F_MASQ = 0x0000;
export const IP_VS_CONN_F_LOCALNODE = 0x0001;
export const IP_VS_CONN_F_TUNNEL = 0x0002;
export const IP_VS_CONN_F_DROUTE = 0x0003;
export const IP_VS_CONN_F_BYPASS = 0x0004;
export const IP_VS_CONN_F_SYNC = 0x0020;
export const IP_VS_CONN_F_HASHED = 0x0040;
export const IP_VS_CONN_F_NOOUTPUT = 0x0080;
export const IP_VS_CONN_F_INACTIVE = 0x0100;
export const IP_VS_CONN_F_OUT_SEQ = 0x0200;
export const IP_VS_CONN_F_IN_SEQ = 0x0400;
export const IP_VS_CONN_F_SEQ_MASK = 0x0600;
export const IP_VS_CONN_F_NO_CPORT = 0x0800;
export const IP_VS_CONN_F_TEMPLATE = 0x1000;
export const IP_VS_CONN_F_ONE_PACKET = 0x2000;
/** Initial bits a backup takes (IP_VS_CONN_F_BACKUP_MASK). */
export const IP_VS_CONN_F_BACKUP_MASK = IP_VS_CONN_F_FWD_MASK | IP_VS_CONN_F_NOOUTPUT | IP_VS_CONN_F_INACTIVE |
  IP_VS_CONN_F_SEQ_MASK | IP_VS_CONN_F_NO_CPORT | IP_VS_CONN_F_TEMPLATE;
/** Bits a backup updates on an existing connection (IP_VS_CONN_F_BACKUP_UPD_MASK). */
export const IP_VS_CONN_F_BACKUP_UPD_MASK = IP_VS_CONN_F_INACTIVE | IP_VS_CONN_F_SEQ_MASK;

/** IP protocols a backup accepts (ip_vs_proto_get; lvsd forwards TCP and UDP). */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
/** Number of states (pp->num_states): IP_VS_TCP_S_LAST, IP_VS_UDP_S_LAST. */
export const TCP_NUM_STATES = 11;
export const UDP_NUM_STATES = 1;

/** Why (part of) a received message was dropped. Stable codes: counters use them. */
export type SyncDropReason =
  /** Shorter than a v0 header ("message header too short"). */
  | 'header_short'
  /** The UDP payload length differs from the header's size ("bogus message size"). */
  | 'bad_size'
  /** The header's syncid is not the backup's (the backup's syncid is not 0). */
  | 'syncid'
  /** An entry header does not fit in the message ("Dropping buffer, too small"). The rest of the message is dropped. */
  | 'entry_truncated'
  /** An entry's size runs past the message ("msg > buffer"). The rest is dropped. */
  | 'entry_overflow'
  /** An entry's version (ver_size >> 12) is not 0. The rest is dropped. */
  | 'entry_version'
  /** An entry type other than IPv4 or IPv6 (-10). The rest is dropped. */
  | 'entry_type'
  /** An entry's size is smaller than its fixed part (-20). The rest is dropped. */
  | 'entry_short'
  /** An option header or data runs past the entry, or has length 0 (-30, -40). The rest is dropped. */
  | 'option_length'
  /** A second or mis-sized sequence option (-50), PE data or PE name too long or twice (-60, -70). The rest is dropped. */
  | 'option_invalid'
  /** An unknown mandatory option (retc 20). This entry is dropped. */
  | 'option_unknown'
  /** A protocol the backup does not forward (retc 30). This entry is dropped. */
  | 'protocol'
  /** A state number beyond the protocol's states (retc 40). This entry is dropped. */
  | 'state'
  /** Persistence-engine data (SIP): lvsd has no persistence engines (retc 50). This entry is dropped. */
  | 'pe'
  /** A version 0 entry runs past the message ("BACKUP v0, bogus conn"). The rest is dropped. */
  | 'v0_truncated';

/** Every drop reason, in a stable order (counters, docs). */
export const SYNC_DROP_REASONS: readonly SyncDropReason[] = [
  'header_short', 'bad_size', 'syncid', 'entry_truncated', 'entry_overflow', 'entry_version', 'entry_type', 'entry_short',
  'option_length', 'option_invalid', 'option_unknown', 'protocol', 'state', 'pe', 'v0_truncated',
];

/** One synchronised connection or template, as the codec reads and writes it (reused: fill in place). */
export interface SyncEntry {
  fam: 4 | 6;
  proto: number;
  /** IP_VS_CONN_F_* bits as sent. */
  flags: number;
  state: number;
  cport: number;
  vport: number;
  dport: number;
  fwmark: number;
  /** The connection's current timeout in seconds (cp->timeout / HZ); 0 in version 0. */
  timeoutS: number;
  /** Addresses as 4 big-endian words each (IPv4: word 0 only, the rest 0). */
  readonly caddr: Uint32Array;
  readonly vaddr: Uint32Array;
  readonly daddr: Uint32Array;
  /** A sequence option was present (in/out seq: init_seq, delta, previous_delta). */
  hasSeq: boolean;
  readonly seq: Uint32Array;
  /** A persistence-engine data / name option was present (lengths; the bytes are not kept). */
  peDataLen: number;
  peNameLen: number;
  /** LVSD_OPT_CLIENT_MAC was present: the client-side MAC as (hi 16 bits, lo 32 bits). */
  hasMac: boolean;
  macHi: number;
  macLo: number;
  /** Version of the message it came from (0 or 1). */
  version: 0 | 1;
}

/** A blank entry to reuse. */
export function createSyncEntry(): SyncEntry {
  return {
    fam: 4, proto: 0, flags: 0, state: 0, cport: 0, vport: 0, dport: 0, fwmark: 0, timeoutS: 0,
    caddr: new Uint32Array(4), vaddr: new Uint32Array(4), daddr: new Uint32Array(4),
    hasSeq: false, seq: new Uint32Array(6), peDataLen: 0, peNameLen: 0, hasMac: false, macHi: 0, macLo: 0, version: 1,
  };
}

/** Size in bytes of an entry as {@link writeEntry} writes it (no PE options are ever sent). */
export function entrySize(e: SyncEntry): number {
  return (e.fam === 6 ? ENTRY_V6_LEN : ENTRY_V4_LEN) + (e.hasSeq ? 2 + SEQ_OPTIONS_LEN : 0) + (e.hasMac ? CLIENT_MAC_OPT_LEN : 0);
}

function putAddr(dv: DataView, at: number, fam: 4 | 6, w: Uint32Array): number {
  dv.setUint32(at, w[0]!);
  if (fam === 4) return at + 4;
  dv.setUint32(at + 4, w[1]!);
  dv.setUint32(at + 8, w[2]!);
  dv.setUint32(at + 12, w[3]!);
  return at + 16;
}

function getAddr(dv: DataView, at: number, fam: 4 | 6, w: Uint32Array): number {
  w[0] = dv.getUint32(at);
  if (fam === 4) {
    w[1] = 0; w[2] = 0; w[3] = 0;
    return at + 4;
  }
  w[1] = dv.getUint32(at + 4);
  w[2] = dv.getUint32(at + 8);
  w[3] = dv.getUint32(at + 12);
  return at + 16;
}

/**
 * Writes entry e at `at` (ip_vs_sync_conn: HASHED cleared, version 0 in ver_size, options
 * after the addresses). Returns the bytes written ({@link entrySize}); the caller has made
 * sure they fit.
 */
export function writeEntry(dv: DataView, at: number, e: SyncEntry): number {
  const len = entrySize(e);
  dv.setUint8(at, e.fam === 6 ? STYPE_F_INET6 : 0);
  dv.setUint8(at + 1, e.proto);
  dv.setUint16(at + 2, len & SVER_MASK);
  dv.setUint32(at + 4, (e.flags & ~IP_VS_CONN_F_HASHED) >>> 0);
  dv.setUint16(at + 8, e.state);
  dv.setUint16(at + 10, e.cport);
  dv.setUint16(at + 12, e.vport);
  dv.setUint16(at + 14, e.dport);
  dv.setUint32(at + 16, e.fwmark >>> 0);
  dv.setUint32(at + 20, e.timeoutS >>> 0);
  let p = putAddr(dv, at + 24, e.fam, e.caddr);
  p = putAddr(dv, p, e.fam, e.vaddr);
  p = putAddr(dv, p, e.fam, e.daddr);
  if (e.hasSeq) {
    dv.setUint8(p, IPVS_OPT_SEQ_DATA);
    dv.setUint8(p + 1, SEQ_OPTIONS_LEN);
    for (let i = 0; i < 6; i++) dv.setUint32(p + 2 + i * 4, e.seq[i]!);
    p += 2 + SEQ_OPTIONS_LEN;
  }
  if (e.hasMac) {
    dv.setUint8(p, LVSD_OPT_CLIENT_MAC);
    dv.setUint8(p + 1, 6);
    dv.setUint16(p + 2, e.macHi & 0xffff);
    dv.setUint32(p + 4, e.macLo >>> 0);
    p += CLIENT_MAC_OPT_LEN;
  }
  return len;
}

/** Writes a version 1 message header (size and nr_conns as given). */
export function writeHeader(dv: DataView, at: number, syncId: number, size: number, nrConns: number): void {
  dv.setUint8(at, 0);
  dv.setUint8(at + 1, syncId & 255);
  dv.setUint16(at + 2, size);
  dv.setUint8(at + 4, nrConns);
  dv.setInt8(at + 5, SYNC_PROTO_VER);
  dv.setUint16(at + 6, 0);
}

/** Result of {@link readEntry}: the entry was decoded into `out` (then `ok`), or why not. */
export type EntryResult =
  | { readonly ok: true }
  /** `abort`: the kernel drops the rest of the message; otherwise only this entry. */
  | { readonly ok: false; readonly reason: SyncDropReason; readonly abort: boolean };

const OK: EntryResult = { ok: true };
const drop = (reason: SyncDropReason, abort: boolean): EntryResult => ({ ok: false, reason, abort });
const R = {
  entry_type: drop('entry_type', true),
  entry_short: drop('entry_short', true),
  option_length: drop('option_length', true),
  option_invalid: drop('option_invalid', true),
  option_unknown: drop('option_unknown', false),
  protocol: drop('protocol', false),
  state: drop('state', false),
  pe: drop('pe', false),
} as const;

/**
 * Decodes the version 1 entry at [at, end) into out, with the checks of
 * `ip_vs_proc_sync_conn()` in its order: the type, the fixed part, every option (sequence
 * data once and 24 bytes, PE data ≤ 255 and PE name ≤ 16 bytes once each, unknown optional
 * ones skipped, an unknown mandatory one drops the entry), then protocol and state (not for
 * templates, whose state the kernel does not check), and PE data (lvsd has no engines).
 */
export function readEntry(dv: DataView, at: number, end: number, out: SyncEntry): EntryResult {
  const type = dv.getUint8(at);
  let p: number;
  if (type & STYPE_F_INET6) {
    out.fam = 6;
    p = at + ENTRY_V6_LEN;
  } else if (type === 0) {
    out.fam = 4;
    p = at + ENTRY_V4_LEN;
  } else {
    return R.entry_type;
  }
  if (p > end) return R.entry_short;
  out.version = 1;
  out.proto = dv.getUint8(at + 1);
  out.flags = dv.getUint32(at + 4);
  out.state = dv.getUint16(at + 8);
  out.cport = dv.getUint16(at + 10);
  out.vport = dv.getUint16(at + 12);
  out.dport = dv.getUint16(at + 14);
  out.fwmark = dv.getUint32(at + 16);
  out.timeoutS = dv.getUint32(at + 20);
  let a = getAddr(dv, at + 24, out.fam, out.caddr);
  a = getAddr(dv, a, out.fam, out.vaddr);
  getAddr(dv, a, out.fam, out.daddr);
  out.hasSeq = false;
  out.peDataLen = 0;
  out.peNameLen = 0;
  out.hasMac = false;
  let unknownMandatory = false;
  while (p < end) {
    if (p + 2 > end) return R.option_length;
    const ptype = dv.getUint8(p);
    const plen = dv.getUint8(p + 1);
    p += 2;
    if (plen === 0 || p + plen > end) return R.option_length;
    switch (ptype & ~IPVS_OPT_F_PARAM) {
      case IPVS_OPT_SEQ_DATA:
        if (plen !== SEQ_OPTIONS_LEN || out.hasSeq) return R.option_invalid;
        for (let i = 0; i < 6; i++) out.seq[i] = dv.getUint32(p + i * 4);
        out.hasSeq = true;
        break;
      case IPVS_OPT_PE_DATA:
        if (plen > PEDATA_MAXLEN || out.peDataLen > 0) return R.option_invalid;
        out.peDataLen = plen;
        break;
      case IPVS_OPT_PE_NAME:
        if (plen > PENAME_MAXLEN || out.peNameLen > 0) return R.option_invalid;
        out.peNameLen = plen;
        break;
      default:
        if (ptype === LVSD_OPT_CLIENT_MAC && plen === 6 && !out.hasMac) {
          out.hasMac = true;
          out.macHi = dv.getUint16(p);
          out.macLo = dv.getUint32(p + 2);
        } else if (!(ptype & IPVS_OPT_F_PARAM)) {
          // "Unknown mandatory param": the kernel stops reading options and drops the entry.
          unknownMandatory = true;
        }
    }
    if (unknownMandatory) return R.option_unknown;
    p += plen;
  }
  return checkEntry(out);
}

/** The protocol/state/PE checks shared by both versions (ip_vs_proc_sync_conn, ip_vs_process_message_v0). */
function checkEntry(out: SyncEntry): EntryResult {
  if (!(out.flags & IP_VS_CONN_F_TEMPLATE)) {
    const states = out.proto === IPPROTO_TCP ? TCP_NUM_STATES : out.proto === IPPROTO_UDP ? UDP_NUM_STATES : 0;
    if (states === 0) return R.protocol;
    if (out.state >= states) return R.state;
  }
  // ip_vs_conn_fill_param_sync(): PE data needs a PE name, and the engine loaded.
  if (out.peDataLen > 0) return R.pe;
  return OK;
}

/** What {@link decodeMessage} found. */
export interface DecodedMessage {
  /** 0 or 1; -1 when the header itself was bad. */
  readonly version: number;
  readonly syncId: number;
  /** Entries the header announced (nr_conns). */
  readonly announced: number;
  /** The whole message, or the rest of it from some entry on, was dropped for this reason. */
  readonly abort: SyncDropReason | null;
  /** Entries dropped one by one, by reason. */
  readonly dropped: readonly SyncDropReason[];
}

/**
 * Decodes a received message (`ip_vs_process_message()`): header checks, the syncid filter
 * (a backup with syncid 0 takes every message), then each entry in turn. `onEntry` is called
 * with each good entry (the same reused object, and the entry's byte range); entries before
 * a bad one are delivered, as the kernel has applied them by then.
 */
export function decodeMessage(buf: Uint8Array, backupSyncId: number, scratch: SyncEntry,
  onEntry: (e: SyncEntry, start: number, end: number) => void): DecodedMessage {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = buf.byteLength;
  if (len < MESG_V0_HEADER_LEN) return { version: -1, syncId: 0, announced: 0, abort: 'header_short', dropped: [] };
  const size = dv.getUint16(2);
  const syncId = dv.getUint8(1);
  if (len !== size) return { version: -1, syncId, announced: 0, abort: 'bad_size', dropped: [] };
  if (backupSyncId !== 0 && syncId !== backupSyncId) return { version: -1, syncId, announced: 0, abort: 'syncid', dropped: [] };
  const dropped: SyncDropReason[] = [];
  if (len >= MESG_HEADER_LEN && dv.getInt8(5) === SYNC_PROTO_VER && dv.getUint8(0) === 0 && dv.getUint16(6) === 0) {
    const nr = dv.getUint8(4);
    let next = MESG_HEADER_LEN;
    for (let i = 0; i < nr; i++) {
      const p = next;
      if (p + ENTRY_V4_LEN > len) return { version: 1, syncId, announced: nr, abort: 'entry_truncated', dropped };
      const vs = dv.getUint16(p + 2);
      const size = vs & SVER_MASK;
      const end = p + size;
      if (end > len) return { version: 1, syncId, announced: nr, abort: 'entry_overflow', dropped };
      if (vs >> SVER_SHIFT) return { version: 1, syncId, announced: nr, abort: 'entry_version', dropped };
      const r = readEntry(dv, p, end, scratch);
      if (!r.ok) {
        if (r.abort) return { version: 1, syncId, announced: nr, abort: r.reason, dropped };
        dropped.push(r.reason);
      } else {
        onEntry(scratch, p, end);
      }
      // 32-bit alignment of the next entry.
      next = p + ((size + 3) & ~3);
    }
    return { version: 1, syncId, announced: nr, abort: null, dropped };
  }
  return decodeV0(dv, len, syncId, scratch, dropped, onEntry);
}

/** ip_vs_process_message_v0(): 24-byte IPv4 entries, 16-bit flags, no timeout, no fwmark. */
function decodeV0(dv: DataView, len: number, syncId: number, out: SyncEntry, dropped: SyncDropReason[],
  onEntry: (e: SyncEntry, start: number, end: number) => void): DecodedMessage {
  const nr = dv.getUint8(0);
  let p = MESG_V0_HEADER_LEN;
  for (let i = 0; i < nr; i++) {
    if (p + ENTRY_V0_LEN > len) return { version: 0, syncId, announced: nr, abort: 'v0_truncated', dropped };
    const start = p;
    const flags = dv.getUint16(p + 20);
    const full = (flags & IP_VS_CONN_F_SEQ_MASK) !== 0;
    p += full ? ENTRY_V0_FULL_LEN : ENTRY_V0_LEN;
    if (p > len) return { version: 0, syncId, announced: nr, abort: 'v0_truncated', dropped };
    out.version = 0;
    out.fam = 4;
    out.proto = dv.getUint8(start + 1);
    out.cport = dv.getUint16(start + 2);
    out.vport = dv.getUint16(start + 4);
    out.dport = dv.getUint16(start + 6);
    getAddr(dv, start + 8, 4, out.caddr);
    getAddr(dv, start + 12, 4, out.vaddr);
    getAddr(dv, start + 16, 4, out.daddr);
    out.flags = flags;
    out.state = dv.getUint16(start + 22);
    out.fwmark = 0;
    out.timeoutS = 0;
    out.hasSeq = full;
    if (full) for (let k = 0; k < 6; k++) out.seq[k] = dv.getUint32(start + 24 + k * 4);
    out.peDataLen = 0;
    out.peNameLen = 0;
    out.hasMac = false;
    // v0: an unsupported protocol or a bad state skips the entry ("continue").
    const r = checkEntry(out);
    if (!r.ok) dropped.push(r.reason);
    else onEntry(out, start, p);
  }
  return { version: 0, syncId, announced: nr, abort: null, dropped };
}

/**
 * The message size limit (start_sync_thread): `maxlen` when configured, clamped to
 * [1 (master) or 1024 (backup), 65535 − headers]; otherwise the MTU minus the IP and UDP
 * headers, where the master's MTU is 1500 whatever the interface's and the backup's is the
 * interface MTU clamped to [1500, 65535] (so its receive buffer fits what a master sends).
 */
export function syncMaxLen(role: 'master' | 'backup', fam: 4 | 6, ifMtu: number, configured: number | null): number {
  const hlen = (fam === 6 ? 40 : 20) + 8;
  if (configured !== null && configured > 0) return Math.max(role === 'backup' ? 1024 : 1, Math.min(configured, 65535 - hlen));
  const mtu = role === 'backup' ? Math.max(1500, Math.min(ifMtu, 65535)) : 1500;
  return mtu - hlen;
}
