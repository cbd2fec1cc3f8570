/**
 * Long-lived client sessions through a VIP, for the connection-sync failover tests (run in
 * the client namespace: `node --import tsx test/netns/sync/sessions-cli.ts JSON`):
 *
 *   stream     GET /stream on one socket: the real server writes a line every 100 ms
 *   echo       a line every `echoMs` to the echo service, each echoed back
 *   keepalive  GET / every `keepaliveMs` on one keep-alive HTTP/1.1 socket
 *
 * Prints one JSON line per `reportMs`: every session's id, kind, local port, bytes and
 * exchanges so far, the real server it is on, the time of its last byte, and its error
 * (`ECONNRESET` for a reset) or `closed`. `ready` once every session has had an answer.
 * Ends on SIGTERM with a last report.
 */
import { connect, type Socket } from 'node:net';

interface Opts {
  vip: string;
  httpPort: number;
  echoPort: number;
  streams: number;
  echo: number;
  keepalive: number;
  /** Extra keep-alive sessions to a second (persistent) port. */
  persistPort?: number;
  persist?: number;
  echoMs: number;
  keepaliveMs: number;
  reportMs: number;
}

interface Session {
  id: number;
  kind: 'stream' | 'echo' | 'keepalive' | 'persist';
  sock: Socket;
  lport: number;
  bytes: number;
  exchanges: number;
  server: string | null;
  lastRx: number;
  error: string | null;
  closed: boolean;
  buf: string;
}

const o = JSON.parse(process.argv[2] ?? '{}') as Opts;
const sessions: Session[] = [];
const timers: NodeJS.Timeout[] = [];

function open(kind: Session['kind'], port: number): Session {
  const sock = connect({ host: o.vip, port });
  const s: Session = { id: sessions.length, kind, sock, lport: 0, bytes: 0, exchanges: 0, server: null, lastRx: 0, error: null, closed: false, buf: '' };
  sessions.push(s);
  sock.setNoDelay(true);
  sock.on('connect', () => {
    s.lport = sock.localPort ?? 0;
    if (kind === 'stream') sock.write(`GET /stream HTTP/1.1\r\nHost: ${o.vip}\r\n\r\n`);
    else if (kind === 'echo') {
      let n = 0;
      timers.push(setInterval(() => { if (!s.closed) sock.write(`ping ${n++}\n`); }, o.echoMs));
    } else {
      sock.write(`GET / HTTP/1.1\r\nHost: ${o.vip}\r\n\r\n`);
    }
  });
  sock.on('data', (d: Buffer) => {
    s.bytes += d.length;
    s.lastRx = Date.now();
    const text = d.toString('latin1');
    if (kind === 'stream') {
      s.buf = (s.buf + text).slice(-256);
      const m = /\n(rs\d+) (\d+)\n/.exec(s.buf) ?? /X-Real-Server: (rs\d+)/i.exec(s.buf);
      if (m) s.server = m[1]!;
      s.exchanges = (text.match(/\n/g) ?? []).length + s.exchanges;
    } else if (kind === 'echo') {
      s.exchanges += (text.match(/\n/g) ?? []).length;
    } else {
      s.buf += text;
      // One response: headers + "rsN\n" body (content-length given by the server).
      for (;;) {
        const h = s.buf.indexOf('\r\n\r\n');
        if (h < 0) break;
        const cl = /content-length: (\d+)/i.exec(s.buf.slice(0, h));
        const len = cl ? Number(cl[1]) : 0;
        if (s.buf.length < h + 4 + len) break;
        const body = s.buf.slice(h + 4, h + 4 + len);
        s.server = body.trim() || s.server;
        s.buf = s.buf.slice(h + 4 + len);
        s.exchanges++;
        setTimeout(() => { if (!s.closed) sock.write(`GET / HTTP/1.1\r\nHost: ${o.vip}\r\n\r\n`); }, o.keepaliveMs);
      }
    }
  });
  sock.on('error', (e: NodeJS.ErrnoException) => { s.error = s.error ?? e.code ?? e.message; });
  sock.on('close', () => { s.closed = true; });
  return s;
}

for (let i = 0; i < o.streams; i++) open('stream', o.httpPort);
for (let i = 0; i < o.echo; i++) open('echo', o.echoPort);
for (let i = 0; i < o.keepalive; i++) open('keepalive', o.httpPort);
for (let i = 0; i < (o.persist ?? 0); i++) open('persist', o.persistPort ?? o.httpPort);

let ready = false;
function report(final = false): void {
  if (!ready && sessions.every((s) => s.exchanges > 0)) ready = true;
  const line = {
    t: Date.now(), ready, final,
    sessions: sessions.map((s) => ({ id: s.id, kind: s.kind, lport: s.lport, bytes: s.bytes, exchanges: s.exchanges, server: s.server, lastRx: s.lastRx, error: s.error, closed: s.closed })),
  };
  process.stdout.write(JSON.stringify(line) + '\n');
}
const rep = setInterval(() => report(), o.reportMs);
process.on('SIGTERM', () => {
  clearInterval(rep);
  for (const t of timers) clearInterval(t);
  report(true);
  for (const s of sessions) s.sock.destroy();
  process.exit(0);
});
