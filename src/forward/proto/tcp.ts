/**
 * TCP connection states, transitions and timeouts as IPVS keeps them, taken as const data
 * from Linux net/netfilter/ipvs/ip_vs_proto_tcp.c (tcp_states[], tcp_timeouts[],
 * tcp_state_idx(), set_tcp_state()). Not a TCP implementation: IPVS only needs to know
 * when a connection is established (active) and how long to keep it.
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../packet.js';

/** State numbers (IP_VS_TCP_S_*), in IPVS order: index into TCP_STATE_NAMES and timeout tables. */
export const sNO = 0;
export const sES = 1;
export const sSS = 2;
export const sSR = 3;
export const sFW = 4;
export const sTW = 5;
export const sCL = 6;
export const sCW = 7;
export const sLA = 8;
export const sLI = 9;
export const sSA = 10;
export const TCP_STATE_COUNT = 11;

/** Names as ipvsadm -c prints them. */
export const TCP_STATE_NAMES = [
  'NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK',
] as const;

/**
 * States that count a connection in the dest's activeconns (ip_vs_proto_tcp.c
 * tcp_state_active_table[], mainline since "ipvs: count pre-established TCP states as
 * active"): ESTABLISHED and the handshake states SYN_SENT, SYN_RECV, SYNACK. Every other
 * state counts in inactconns. The lc/wlc/sed/nq/... cost functions read these counts.
 */
export const TCP_STATE_ACTIVE: Readonly<Uint8Array> = (() => {
  const a = new Uint8Array(TCP_STATE_COUNT);
  a[sES] = 1;
  a[sSS] = 1;
  a[sSR] = 1;
  a[sSA] = 1;
  return a;
})();

/** Packet direction as IPVS names it (IP_VS_DIR_*). */
export const DIR_INPUT = 0;
export const DIR_OUTPUT = 1;

/** Default timeouts in seconds (ip_vs_proto_tcp.c tcp_timeouts[]). */
export const TCP_TIMEOUTS_S: readonly number[] = [
  /* NONE        */ 2,
  /* ESTABLISHED */ 15 * 60,
  /* SYN_SENT    */ 2 * 60,
  /* SYN_RECV    */ 1 * 60,
  /* FIN_WAIT    */ 2 * 60,
  /* TIME_WAIT   */ 2 * 60,
  /* CLOSE       */ 10,
  /* CLOSE_WAIT  */ 60,
  /* LAST_ACK    */ 30,
  /* LISTEN      */ 2 * 60,
  /* SYNACK      */ 120,
];

// Transition table: rows are (direction block) × (syn, fin, ack, rst); columns the current
// state. Copied cell by cell from ip_vs_proto_tcp.c tcp_states[] (mainline, not the
// secure_tcp "dos" table).
// prettier-ignore
const TABLE: readonly (readonly number[])[] = [
  /*      INPUT */
  /*        sNO, sES, sSS, sSR, sFW, sTW, sCL, sCW, sLA, sLI, sSA */
  /*syn*/ [sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR],
  /*fin*/ [sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW],
  /*ack*/ [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES],
  /*rst*/ [sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR],

  /*      OUTPUT */
  /*        sNO, sES, sSS, sSR, sFW, sTW, sCL, sCW, sLA, sLI, sSA */
  /*syn*/ [sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR],
  /*fin*/ [sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW],
  /*ack*/ [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES],
  /*rst*/ [sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL],

  /*      INPUT-ONLY (DR/TUN: replies never seen) */
  /*        sNO, sES, sSS, sSR, sFW, sTW, sCL, sCW, sLA, sLI, sSA */
  /*syn*/ [sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR],
  /*fin*/ [sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW],
  /*ack*/ [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES],
  /*rst*/ [sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL],
];

/** The table flattened: NEXT[(block*4 + event) * 11 + state]. */
const NEXT = new Uint8Array(TABLE.length * TCP_STATE_COUNT);
for (let r = 0; r < TABLE.length; r++) for (let c = 0; c < TCP_STATE_COUNT; c++) NEXT[r * TCP_STATE_COUNT + c] = TABLE[r]![c]!;

/** Row blocks (tcp_state_off[]). */
const OFF_INPUT = 0;
const OFF_OUTPUT = 4;
const OFF_INPUT_ONLY = 8;

/** tcp_state_idx(): rst > syn > fin > ack; -1 when none is set. */
export function tcpEvent(flags: number): number {
  if (flags & TCP_RST) return 3;
  if (flags & TCP_SYN) return 0;
  if (flags & TCP_FIN) return 1;
  if (flags & TCP_ACK) return 2;
  return -1;
}

/**
 * The next state for a segment with `flags` seen in `dir` on a connection in `state`.
 * `inputOnly` is IPVS's NOOUTPUT flag (DR/TUN, cleared by the first output packet).
 * A segment with no flag IPVS knows moves the connection to CLOSE, as set_tcp_state does.
 */
export function tcpNextState(state: number, dir: number, inputOnly: boolean, flags: number): number {
  const ev = tcpEvent(flags);
  if (ev < 0) return sCL;
  const off = dir === DIR_OUTPUT ? OFF_OUTPUT : inputOnly ? OFF_INPUT_ONLY : OFF_INPUT;
  return NEXT[(off + ev) * TCP_STATE_COUNT + state]!;
}

/**
 * Timeouts in seconds per state with `lvs_timeouts` applied: tcp → ESTABLISHED, tcpfin →
 * FIN_WAIT (ipvsadm --set tcp tcpfin udp; ip_vs_ctl.c ip_vs_set_timeout).
 */
export function tcpTimeoutsS(tcpS: number, tcpFinS: number): number[] {
  const t = [...TCP_TIMEOUTS_S];
  if (tcpS > 0) t[sES] = tcpS;
  if (tcpFinS > 0) t[sFW] = tcpFinS;
  return t;
}
