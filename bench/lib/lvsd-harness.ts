/**
 * The lvsd forwarding core as the bench runs it: a ForwardingSubsystem (worker threads,
 * AF_PACKET, the daemon's `table netdev lvsd`) in the director namespace, started with
 * `ip netns exec`. argv: MODEL.json OPTIONS.json (ForwardingDeps fields: workers, batch, ring,
 * io). Commands arrive as JSON lines on stdin (`{"cmd":"lvs"}`, `{"cmd":"quit"}`), answers
 * leave as JSON lines on stdout; the first line is `{"ready":true,"pid":N}`.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { EventBus } from '../../src/events/bus.js';
import { CommandRegistry } from '../../src/control/registry.js';
import { openNetlink } from '../../src/io/netlink.js';
import { nftAdapter } from '../../src/io/nft.js';
import { ForwardingSubsystem, type ForwardingDeps } from '../../src/forward/subsystem.js';
import type { Model } from '../../src/model/types.js';

const model = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Model;
const opts = JSON.parse(readFileSync(process.argv[3]!, 'utf8')) as Partial<ForwardingDeps>;
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const bus = new EventBus();
const errors: string[] = [];
bus.onAny((e) => { if (e.type === 'forward.error') errors.push(e.message); });
const netlink = openNetlink();
const fwd = new ForwardingSubsystem({ ...opts, bus, registry: new CommandRegistry(), netlink, nft: nftAdapter() });

async function main(): Promise<void> {
  await fwd.start(model);
  await fwd.settled();
  out({ ready: true, pid: process.pid, errors });
  for await (const line of createInterface({ input: process.stdin })) {
    const m = JSON.parse(line) as { cmd: string };
    if (m.cmd === 'lvs') {
      const r = await fwd.lvs();
      out({ ok: true, counters: r.counters, services: r.services.map((s) => ({ key: s.key, conns: s.stats.conns, inpkts: s.stats.inpkts, outpkts: s.stats.outpkts })), errors });
    } else if (m.cmd === 'quit') {
      await fwd.stop('shutdown');
      await netlink.close();
      out({ ok: true, bye: true });
      process.exit(0);
    }
  }
}
main().catch((e) => {
  out({ fatal: e instanceof Error ? e.stack : String(e) });
  process.exit(1);
});
