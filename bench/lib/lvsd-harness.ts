/**
 * The lvsd forwarding core as the bench runs it: a ForwardingSubsystem (worker threads,
 * AF_PACKET, the daemon's `table netdev lvsd`) in the director namespace, started with
 * `ip netns exec`. argv: MODEL.json OPTIONS.json (ForwardingDeps fields: workers, batch, ring,
 * io; `sync: true` adds connection sync's master role on eth1). Commands arrive as JSON lines on stdin (`{"cmd":"lvs"}`, `{"cmd":"quit"}`), answers
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
import { SyncSubsystem } from '../../src/sync/subsystem.js';
import { dgramSyncSockets } from '../../src/io/sync-socket.js';

const given = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Model;
const { sync: withSync, ...opts } = JSON.parse(readFileSync(process.argv[3]!, 'utf8')) as Partial<ForwardingDeps> & { sync?: boolean };
const model: Model = withSync
  ? { ...given, global: { ...given.global, lvsSyncDaemon: { interface: 'eth1', instance: 'BENCH', syncId: 1, maxLen: null, group: '224.0.0.81', family: 'ipv4', port: 8848, ttl: 1 } } }
  : given;
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const bus = new EventBus();
const errors: string[] = [];
bus.onAny((e) => { if (e.type === 'forward.error') errors.push(e.message); });
const netlink = openNetlink();
const registry = new CommandRegistry();
const fwd = new ForwardingSubsystem({ ...opts, bus, registry, netlink, nft: nftAdapter() });
const sync = withSync ? new SyncSubsystem({ bus, registry, forward: fwd, sockets: dgramSyncSockets(async (n) => (await netlink.getLink(n))?.mtu ?? null) }) : null;

async function main(): Promise<void> {
  await fwd.start(model);
  await fwd.settled();
  if (sync) {
    await sync.start(model);
    // The director is MASTER of the sync daemon's instance: the master role runs.
    bus.emit({ type: 'vrrp.transition', instance: 'BENCH', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 100, masterAddress: null });
    await sync.settled();
  }
  out({ ready: true, pid: process.pid, errors });
  for await (const line of createInterface({ input: process.stdin })) {
    const m = JSON.parse(line) as { cmd: string };
    if (m.cmd === 'lvs') {
      const r = await fwd.lvs();
      out({ ok: true, counters: r.counters, services: r.services.map((s) => ({ key: s.key, conns: s.stats.conns, inpkts: s.stats.inpkts, outpkts: s.stats.outpkts })), errors, sync: sync?.status() ?? null });
    } else if (m.cmd === 'quit') {
      await sync?.stop('shutdown');
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
