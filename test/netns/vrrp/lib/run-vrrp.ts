/**
 * A minimal director process for the netns tests, until the daemon entry point exists:
 * the real VrrpSubsystem with real ports (rtnetlink, AF_PACKET announcer, raw VRRP
 * sockets, child-process scripts, the system clock) over a model read from a JSON file.
 *
 *   node --import tsx test/netns/vrrp/lib/run-vrrp.ts MODEL.json
 *
 * Every event goes to stdout as one JSON line with a wall-clock `t` (ms) for the test to
 * time transitions. SIGTERM/SIGINT stop the subsystem cleanly (priority 0, VIPs removed);
 * SIGUSR2 prints the `vrrp` status as a `{"type":"status",...}` line.
 */
import { readFileSync } from 'node:fs';
import { EventBus } from '../../../../src/events/bus.js';
import { systemClock } from '../../../../src/lib/clock.js';
import { CommandRegistry } from '../../../../src/control/registry.js';
import { FakeCoreVip } from '../../../../src/io/doubles.js';
import { PacketAnnouncer } from '../../../../src/io/announce.js';
import { openNetlink } from '../../../../src/io/netlink.js';
import { ChildScriptRunner } from '../../../../src/io/script-runner.js';
import { RawVrrpTransport } from '../../../../src/io/vrrp-socket.js';
import type { Model } from '../../../../src/model/types.js';
import { VrrpSubsystem } from '../../../../src/vrrp/manager.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: run-vrrp.ts MODEL.json\n');
  process.exit(2);
}
const model = JSON.parse(readFileSync(file, 'utf8')) as Model;
const out = (o: object) => process.stdout.write(`${JSON.stringify({ t: Date.now(), ...o })}\n`);
const bus = new EventBus();
bus.onAny((ev) => out(ev));
const netlink = openNetlink();
const registry = new CommandRegistry();
const transport = new RawVrrpTransport();
const sub = new VrrpSubsystem({
  bus, clock: systemClock, netlink, announce: new PacketAnnouncer(), coreVips: new FakeCoreVip(),
  scripts: new ChildScriptRunner(model.global.scriptUser), transport, registry,
});

let stopping = false;
async function stop(sig: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  await sub.stop('shutdown');
  out({ type: 'harness.stopped', signal: sig });
  await netlink.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGUSR2', () => out({ type: 'status', status: sub.status() }));

await sub.start(model);
out({ type: 'harness.started', pid: process.pid });
