/**
 * The real servers for bench/checks.ts, in their own process (so their work does not
 * count against the checker's event loop): N TCP listeners and N HTTP listeners on
 * 127.0.0.1, each on its own port. Prints `{"tcp":[ports],"http":[ports]}` on one line,
 * then serves until stdin closes.
 *
 *   node --import tsx bench/checks-servers.ts 500 500
 */
import { createServer as createHttp } from 'node:http';
import { createServer as createTcp, type Server } from 'node:net';

const nTcp = Number(process.argv[2] ?? 500);
const nHttp = Number(process.argv[3] ?? 500);
const body = Buffer.from('ok\n');

async function listen(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', 1024, r));
  return (s.address() as { port: number }).port;
}

const tcp: number[] = [];
const http: number[] = [];
const all: Server[] = [];
for (let i = 0; i < nTcp; i++) {
  const s = createTcp((sock) => {
    sock.on('error', () => undefined);
    sock.end();
  });
  all.push(s);
  tcp.push(await listen(s));
}
for (let i = 0; i < nHttp; i++) {
  const s = createHttp((_req, res) => {
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  s.on('clientError', (_e, sock) => sock.destroy());
  all.push(s);
  http.push(await listen(s));
}
process.stdout.write(`${JSON.stringify({ tcp, http })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  for (const s of all) s.close();
  process.exit(0);
});
