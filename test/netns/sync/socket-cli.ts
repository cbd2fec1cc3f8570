/**
 * The daemon's sync sockets (src/io/sync-socket.ts) in a namespace, for sockets.test.ts:
 *   node --import tsx test/netns/sync/socket-cli.ts recv|send|both JSON
 * JSON: { interface, family, group, port, ttl, count? }. `recv` prints `ready`, then one
 * `msg HEX` line per message; `send` sends `count` messages (bytes 1..n) and exits;
 * `both` opens a receiver and a sender on the same socket setup (as a director running both
 * roles) and sends, printing what its own receiver got.
 */
import { dgramSyncSockets } from '../../../src/io/sync-socket.js';
import type { SyncEndpoint } from '../../../src/sync/ports.js';

const [mode, json] = process.argv.slice(2);
const o = JSON.parse(json!) as SyncEndpoint & { count?: number };
const sockets = dgramSyncSockets(async () => 1500);
const print = (s: string) => process.stdout.write(s + '\n');

async function main(): Promise<void> {
  if (mode === 'recv' || mode === 'both') {
    await sockets.openReceiver(o, (m) => print(`msg ${Buffer.from(m).toString('hex')}`), (e) => print(`error ${e.message}`));
    print('ready');
  }
  if (mode === 'send' || mode === 'both') {
    const s = await sockets.openSender(o, (e) => print(`error ${e.message}`));
    for (let i = 0; i < (o.count ?? 3); i++) s.send(Uint8Array.from({ length: 8 }, (_, k) => (i * 8 + k + 1) & 255));
    await new Promise((r) => setTimeout(r, 300));
    await s.close();
    print('sent');
    if (mode === 'send') process.exit(0);
  }
}
main().catch((e) => { print(`fatal ${e instanceof Error ? e.message : String(e)}`); process.exit(1); });
process.on('SIGTERM', () => process.exit(0));
