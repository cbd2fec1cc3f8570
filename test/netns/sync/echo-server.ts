/**
 * A line echo server for the connection-sync tests, run in a real server's namespace:
 * `node --import tsx test/netns/sync/echo-server.ts ADDRESS PORT`. Prints `listening` once bound.
 */
import { createServer } from 'node:net';

const [address, port] = process.argv.slice(2);
const srv = createServer((s) => {
  s.on('data', (d) => s.write(d));
  s.on('error', () => s.destroy());
});
srv.listen(Number(port), address, () => process.stdout.write(`listening ${address}:${port}\n`));
process.on('SIGTERM', () => process.exit(0));
