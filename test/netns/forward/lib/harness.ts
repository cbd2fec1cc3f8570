/**
 * Runs a ForwardingSubsystem inside the director namespace (started with `ip netns exec`),
 * for the forward netns tests until the daemon exists. The model comes as a JSON file
 * (argv[2]); commands arrive as JSON lines on stdin, answers leave as JSON lines on stdout:
 *   {"cmd":"health","service":..,"real":..,"up":false}   {"cmd":"quorum","service":..,"up":false}
 *   {"cmd":"lvs","conns":true}   {"cmd":"trace","flow":"tcp 198.18.0.100:1 198.18.0.10:80"}
 *   {"cmd":"claim"|"release","vips":[CoreVip...]}   {"cmd":"apply","model":Model}   {"cmd":"quit"}
 * Events go to stdout as {"event": ...} lines.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { EventBus } from '../../../../src/events/bus.js';
import { CommandRegistry } from '../../../../src/control/registry.js';
import { openNetlink } from '../../../../src/io/netlink.js';
import { nftAdapter } from '../../../../src/io/nft.js';
import { ForwardingSubsystem, parseTraceArgs } from '../../../../src/forward/subsystem.js';
import type { Model } from '../../../../src/model/types.js';
import { diff } from '../../../../src/model/diff.js';

let model = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Model;
const bus = new EventBus();
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
bus.onAny((e) => out({ event: e }));
const netlink = openNetlink();
const fwd = new ForwardingSubsystem({ bus, registry: new CommandRegistry(), netlink, nft: nftAdapter(), batch: 32, ring: process.env.LVSD_FWD_RING === undefined ? undefined : process.env.LVSD_FWD_RING === '1' });

async function main(): Promise<void> {
  await fwd.start(model);
  await fwd.settled();
  out({ ready: true });
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as Record<string, unknown>;
    try {
      switch (m.cmd) {
        case 'health': out({ ok: fwd.setRealHealth(String(m.service), String(m.real), { up: !!m.up }) }); break;
        case 'quorum': out({ ok: fwd.setServiceQuorum(String(m.service), !!m.up) }); break;
        case 'lvs': out({ ok: true, result: await fwd.lvs({ conns: !!m.conns, zero: !!m.zero }) }); break;
        case 'trace': { const f = parseTraceArgs(m); out({ ok: true, result: await fwd.trace(f.proto, f.src, f.sport, f.dst, f.dport) }); break; }
        case 'apply': {
          const next = m.model as Model;
          await fwd.apply(next, diff(model, next));
          model = next;
          await fwd.settled();
          out({ ok: true, problems: fwd.problems });
          break;
        }
        case 'claim': fwd.claim(null, m.vips as never); await fwd.settled(); out({ ok: true }); break;
        case 'release': fwd.release(null, m.vips as never); await fwd.settled(); out({ ok: true }); break;
        case 'quit':
          await fwd.stop('shutdown');
          await netlink.close();
          out({ ok: true, bye: true });
          process.exit(0);
      }
    } catch (e) {
      out({ ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
}
main().catch((e) => {
  out({ fatal: e instanceof Error ? e.stack : String(e) });
  process.exit(1);
});
