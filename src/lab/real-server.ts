/**
 * The lab's real server: a small HTTP server that answers with its own name, bound to an
 * explicit address (never a wildcard: each real server namespace has one address).
 *
 *   node dist/lab/real-server.js --name rs1 --listen 198.18.1.11:80 [--fail-file /run/lvsd-lab/rs1.fail]
 *
 *   GET /          200 "rs1\n" (header X-Real-Server: rs1), keep-alive allowed
 *   GET /health    200 "ok", or 503 while the fail file exists (`touch` it to fail the
 *                  director's HTTP_GET check, `rm` it to recover)
 *   GET /stream    a long-lived response: one line "rs1 N" every 100 ms until the client leaves
 *
 * Prints `listening ADDR:PORT` once bound; SIGTERM/SIGINT close it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Options of one real server. */
export interface RealServerOptions {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly failFile: string | null;
}

/** Parses the command line of the real-server program. */
export function parseRealServerArgs(argv: string[]): RealServerOptions {
  const { values } = parseArgs({
    args: argv,
    options: { name: { type: 'string' }, listen: { type: 'string' }, 'fail-file': { type: 'string' } },
    strict: true,
  });
  const name = values.name;
  const listen = values.listen;
  if (!name || !listen) throw new Error('usage: real-server --name NAME --listen ADDR:PORT [--fail-file PATH]');
  const i = listen.lastIndexOf(':');
  const port = Number(listen.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--listen ${listen}: expected ADDR:PORT`);
  return { name, address: listen.slice(0, i), port, failFile: values['fail-file'] ?? null };
}

function handler(o: RealServerOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader('X-Real-Server', o.name);
    if (path === '/health') {
      const failing = o.failFile !== null && existsSync(o.failFile);
      send(res, failing ? 503 : 200, failing ? `${o.name} failing (${o.failFile} exists)\n` : 'ok\n');
      return;
    }
    if (path === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const t = setInterval(() => res.write(`${o.name} ${n++}\n`), 100);
      res.write(`${o.name} ${n++}\n`);
      res.once('close', () => clearInterval(t));
      return;
    }
    send(res, 200, `${o.name}\n`);
  };
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** Runs a real server until SIGTERM/SIGINT. */
export function runRealServer(o: RealServerOptions): void {
  const server = createServer(handler(o));
  // Long-lived keep-alive connections are part of the reload test: do not close idle ones soon.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.requestTimeout = 0;
  server.on('error', (e) => {
    process.stderr.write(`real-server ${o.name}: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(o.port, o.address, () => process.stdout.write(`listening ${o.address}:${o.port}\n`));
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  try {
    runRealServer(parseRealServerArgs(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
}
