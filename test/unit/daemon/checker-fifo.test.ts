/**
 * The checker's notify FIFO lines (keepalived ipwrapper.c notify_fifo_rs / notify_fifo_vs),
 * written from health events: exact line format per kind of service, which events write,
 * both FIFOs, reload, and a real FIFO read by a reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, openSync, readSync, closeSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { EventBus } from '../../../src/events/bus.js';
import { loadConfigText } from '../../../src/config/load.js';
import type { Model } from '../../../src/model/types.js';
import { CheckerNotifyFifo, fifoRealLine, fifoServiceLine } from '../../../src/daemon/checker-fifo.js';
import { NodeNotifyFifo } from '../../../src/vrrp/notify-fifo.js';
import type { ChangeSet } from '../../../src/model/changes.js';

const CONF = (fifos: string) => `
global_defs {
  lvs_interface eth0
  ${fifos}
}
virtual_server 198.18.13.10 80 {
  protocol TCP
  sorry_server 198.18.14.99 80
  real_server 198.18.14.11 80 { }
}
virtual_server fwmark 7 {
  protocol TCP
  lvs_method NAT
  real_server 198.18.14.21 8080 { }
}
fwmark_rules 7 {
  198.18.13.20/32 tcp 443
}
virtual_server 2001:db8::10 53 {
  protocol UDP
  real_server 2001:db8::11 53 { }
}
virtual_server_group web {
  198.18.13.30 80
}
virtual_server group web {
  protocol TCP
  real_server 198.18.14.31 80 { }
}
`;

function model(fifos = 'notify_fifo /run/x/all.fifo\n  lvs_notify_fifo /run/x/lvs.fifo'): Model {
  const r = loadConfigText(CONF(fifos), 'fifo.conf', 'keepalived', { hostname: 'h', configId: 'h' });
  assert.ok(r.ok, r.ok ? '' : r.diagnostics.map((d) => d.message).join('\n'));
  return r.model;
}

class RecordingFifo {
  readonly lines: Array<[string, string]> = [];
  closed = 0;
  write(path: string, line: string): boolean {
    this.lines.push([path, line]);
    return true;
  }
  close(): void {
    this.closed++;
  }
}

test('lines are keepalived\'s: [ADDR]:PROTO:PORT, FWM N (protocol none), [GROUP]:0, IPv6 inside brackets', () => {
  const m = model();
  const vs = (k: string) => m.virtualServers[k]!;
  const rs = (k: string, r: string) => vs(k).realServers[r]!;
  assert.equal(fifoRealLine(rs('tcp:198.18.13.10:80', '198.18.14.11:80'), vs('tcp:198.18.13.10:80'), m, true), 'RS [198.18.14.11]:tcp:80 [198.18.13.10]:tcp:80 UP\n');
  assert.equal(fifoServiceLine(vs('tcp:198.18.13.10:80'), m, false), 'VS [198.18.13.10]:tcp:80 DOWN\n');
  assert.equal(fifoRealLine(rs('fwmark:7', '198.18.14.21:8080'), vs('fwmark:7'), m, false), 'RS [198.18.14.21]:none:8080 FWM 7 DOWN\n');
  assert.equal(fifoServiceLine(vs('fwmark:7'), m, true), 'VS FWM 7 UP\n');
  const v6 = Object.keys(m.virtualServers).find((k) => k.startsWith('udp:'))!;
  const v6rs = Object.keys(vs(v6).realServers)[0]!;
  assert.equal(fifoRealLine(rs(v6, v6rs), vs(v6), m, true), 'RS [2001:db8::11]:udp:53 [2001:db8::10]:udp:53 UP\n');
  const g = Object.keys(m.virtualServers).find((k) => k.startsWith('group:'))!;
  assert.equal(fifoRealLine(rs(g, '198.18.14.31:80'), vs(g), m, true), 'RS [198.18.14.31]:tcp:80 [web]:0 UP\n');
});

test('real.up/real.down and quorum changes write to notify_fifo and lvs_notify_fifo; start-up quorum states do not, except below quorum with a sorry server', async () => {
  const bus = new EventBus();
  const fifo = new RecordingFifo();
  const sub = new CheckerNotifyFifo(bus, fifo);
  const m = model();
  await sub.start(m);
  const base = { checker: 'tcp#0', reason: 'ok' as const, detail: '', latencyMs: 1 };
  bus.emit({ type: 'real.down', service: 'tcp:198.18.13.10:80', real: '198.18.14.11:80', ...base, reason: 'refused' });
  const q = { type: 'service.quorum' as const, aliveWeight: 0, quorum: 1, hysteresis: 0, real: null, checker: null, reason: 'startup' as const };
  bus.emit({ ...q, service: 'tcp:198.18.13.10:80', up: false, sorryServer: '198.18.14.99:80' });
  bus.emit({ ...q, service: 'fwmark:7', up: true, sorryServer: null, initial: true }); // a state: nothing
  bus.emit({ ...q, service: 'fwmark:7', up: false, sorryServer: null, initial: true }); // below quorum, no sorry server: nothing
  bus.emit({ ...q, service: 'tcp:198.18.13.10:80', up: false, sorryServer: '198.18.14.99:80', initial: true }); // keepalived writes this one
  bus.emit({ type: 'real.up', service: 'tcp:198.18.13.10:80', real: '198.18.14.11:80', ...base });
  bus.emit({ type: 'real.up', service: 'tcp:198.18.99.99:80', real: 'x', ...base }); // unknown: nothing
  const expected = [
    'RS [198.18.14.11]:tcp:80 [198.18.13.10]:tcp:80 DOWN\n',
    'VS [198.18.13.10]:tcp:80 DOWN\n',
    'VS [198.18.13.10]:tcp:80 DOWN\n',
    'RS [198.18.14.11]:tcp:80 [198.18.13.10]:tcp:80 UP\n',
  ];
  assert.deepEqual(fifo.lines.filter(([p]) => p === '/run/x/all.fifo').map(([, l]) => l), expected);
  assert.deepEqual(fifo.lines.filter(([p]) => p === '/run/x/lvs.fifo').map(([, l]) => l), expected);
  assert.equal(fifo.lines.length, 8);

  // A reload that drops the FIFOs stops the lines; stop unsubscribes and closes.
  await sub.apply(model('router_id x'), {} as ChangeSet);
  bus.emit({ type: 'real.down', service: 'tcp:198.18.13.10:80', real: '198.18.14.11:80', ...base });
  assert.equal(fifo.lines.length, 8);
  await sub.apply(model('lvs_notify_fifo /run/x/lvs.fifo'), {} as ChangeSet);
  await sub.stop();
  bus.emit({ type: 'real.down', service: 'tcp:198.18.13.10:80', real: '198.18.14.11:80', ...base });
  assert.equal(fifo.lines.length, 8);
  assert.equal(fifo.closed, 1);
});

test('a real FIFO gets the lines (created when missing, never blocking without a reader)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvt-fifo-'));
  const path = join(dir, 'lvs.fifo');
  const bus = new EventBus();
  const port = new NodeNotifyFifo();
  const sub = new CheckerNotifyFifo(bus, port);
  try {
    await sub.start(model(`lvs_notify_fifo ${path}`));
    const base = { checker: 'tcp#0', reason: 'refused' as const, detail: '', latencyMs: 1 };
    // No reader yet: the write must not block (O_RDWR|O_NONBLOCK, as keepalived opens it).
    bus.emit({ type: 'real.down', service: 'tcp:198.18.13.10:80', real: '198.18.14.11:80', ...base });
    assert.equal(spawnSync('test', ['-p', path]).status, 0, 'the FIFO was created');
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      bus.emit({ type: 'real.up', service: 'tcp:198.18.13.10:80', real: '198.18.14.11:80', ...base, reason: 'ok' });
      const buf = Buffer.alloc(4096);
      const n = readSync(fd, buf, 0, buf.length, null);
      assert.equal(buf.subarray(0, n).toString(), 'RS [198.18.14.11]:tcp:80 [198.18.13.10]:tcp:80 DOWN\nRS [198.18.14.11]:tcp:80 [198.18.13.10]:tcp:80 UP\n');
    } finally {
      closeSync(fd);
    }
    assert.equal(sub.failures, 0);
  } finally {
    await sub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
