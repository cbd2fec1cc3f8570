import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tcpNextState, tcpTimeoutsS, TCP_STATE_NAMES, TCP_TIMEOUTS_S, DIR_INPUT, DIR_OUTPUT,
  sNO, sES, sSR, sFW, sTW, sCL, sCW, sLA,
} from '../../../../src/forward/proto/tcp.js';

const S = 0x02, A = 0x10, F = 0x01, R = 0x04;

test('NAT handshake and close follow ip_vs_proto_tcp.c tcp_states[]', () => {
  let s = sNO;
  s = tcpNextState(s, DIR_INPUT, false, S); assert.equal(TCP_STATE_NAMES[s], 'SYN_RECV');
  s = tcpNextState(s, DIR_OUTPUT, false, S | A); assert.equal(TCP_STATE_NAMES[s], 'SYN_RECV');
  s = tcpNextState(s, DIR_INPUT, false, A); assert.equal(s, sES);
  s = tcpNextState(s, DIR_INPUT, false, F | A); assert.equal(s, sCW, 'client FIN: CLOSE_WAIT');
  s = tcpNextState(s, DIR_OUTPUT, false, F | A); assert.equal(s, sTW);
  s = tcpNextState(s, DIR_INPUT, false, A); assert.equal(s, sTW);
});

test('server closes first: FIN_WAIT then TIME_WAIT', () => {
  let s = sES;
  s = tcpNextState(s, DIR_OUTPUT, false, F | A); assert.equal(s, sFW);
  s = tcpNextState(s, DIR_INPUT, false, F | A); assert.equal(s, sTW);
});

test('DR (input only): client FIN goes to FIN_WAIT, RST closes; RST beats SYN', () => {
  assert.equal(tcpNextState(sES, DIR_INPUT, true, F | A), sFW);
  assert.equal(tcpNextState(sES, DIR_INPUT, false, F | A), sCW);
  assert.equal(tcpNextState(sES, DIR_INPUT, true, R), sCL);
  assert.equal(tcpNextState(sSR, DIR_INPUT, false, R), sSR, 'INPUT rst in SYN_RECV stays (table)');
  assert.equal(tcpNextState(sES, DIR_INPUT, false, S | R), sCL);
  assert.equal(tcpNextState(sLA, DIR_INPUT, false, A), sCL);
  assert.equal(tcpNextState(sES, DIR_INPUT, false, 0), sCL, 'no known flag: CLOSE as set_tcp_state');
});

test('timeouts: defaults and lvs_timeouts tcp/tcpfin', () => {
  assert.equal(TCP_TIMEOUTS_S[sES], 900);
  assert.equal(TCP_TIMEOUTS_S[sSR], 60);
  assert.equal(TCP_TIMEOUTS_S[sCL], 10);
  assert.equal(TCP_TIMEOUTS_S[sTW], 120);
  const t = tcpTimeoutsS(7200, 30);
  assert.equal(t[sES], 7200);
  assert.equal(t[sFW], 30);
  assert.equal(t[sTW], 120);
});
