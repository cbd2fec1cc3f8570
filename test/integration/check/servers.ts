/**
 * Real local servers that tests flip between behaviours: a flippable HTTP(S) server (ok,
 * 503, hang, reset, slow, other body, stopped), a self-signed certificate made with
 * openssl at test time, and a TCP listener that never accepts (its SYN queue full, the
 * kernel drops further SYNs: connect times out).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type Socket } from 'node:net';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What the flippable server does with a request. */
export type Mode = 'ok' | '503' | 'hang' | 'reset' | 'slow' | 'body' | 'stopped';

/** A request as the server saw it. */
export interface SeenRequest {
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly httpVersion: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The address and port the request arrived at. */
  readonly localAddress: string;
  readonly localPort: number;
  readonly servername: string | null;
}

/** An HTTP or HTTPS server on 127.0.0.1 whose behaviour a test switches at will. */
export class FlipServer {
  mode: Mode = 'ok';
  body = 'healthy\n';
  otherBody = 'something else\n';
  slowMs = 1000;
  readonly seen: SeenRequest[] = [];
  connections = 0;
  private readonly server: Server;
  private port = 0;
  private readonly host: string;
  private readonly sockets = new Set<Socket>();
  /** The TCP sockets under TLS ones, by remote port (a TLS socket cannot send a RST itself). */
  private readonly raw = new Map<number, Socket>();

  constructor(opts: { tls?: { key: Buffer; cert: Buffer }; host?: string } = {}) {
    this.host = opts.host ?? '127.0.0.1';
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : createHttpServer(handler);
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (s: Socket) => {
      const port = s.remotePort ?? 0;
      this.raw.set(port, s);
      s.on('close', () => this.raw.delete(port));
    });
    this.server.on(opts.tls ? 'secureConnection' : 'connection', (s: Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  /** Listens (again, on the same port after `stop`). */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Switches behaviour; 'stopped' closes the listener and every connection, leaving it will listen again. */
  async set(mode: Mode): Promise<void> {
    const was = this.mode;
    this.mode = mode;
    if (mode === 'stopped' && was !== 'stopped') await this.closeListener();
    if (mode !== 'stopped' && was === 'stopped') await this.listen();
  }

  private async closeListener(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const sock = req.socket as Socket & { servername?: string | false };
    const path = req.url ?? '/';
    this.seen.push({
      url: req.url ?? '',
      headers: req.headers,
      httpVersion: req.httpVersion,
      remoteAddress: sock.remoteAddress ?? '',
      remotePort: sock.remotePort ?? 0,
      localAddress: sock.localAddress ?? '',
      localPort: sock.localPort ?? 0,
      servername: typeof sock.servername === 'string' ? sock.servername : null,
    });
    if (path.startsWith('/status/')) {
      res.statusCode = Number(path.slice(8));
      res.end('status\n');
      return;
    }
    if (path === '/chunked') {
      // No Content-Length: chunked to HTTP/1.1 clients, close-delimited to HTTP/1.0 (genhash).
      res.write('part one\n');
      setTimeout(() => res.end('part two\n'), 5);
      return;
    }
    if (path.startsWith('/size/')) {
      res.end(Buffer.alloc(Number(path.slice(6)), 0x61));
      return;
    }
    if (path === '/short' || path === '/short-rst') {
      // Content-Length 100, 5 bytes sent, then the connection ends: FIN, or RST
      sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nhello');
      setTimeout(() => (path === '/short' ? sock.end() : (this.raw.get(sock.remotePort ?? 0) ?? sock).resetAndDestroy()), 10);
      return;
    }
    switch (this.mode) {
      case 'ok':
        res.end(this.body);
        return;
      case 'body':
        res.end(this.otherBody);
        return;
      case '503':
        res.statusCode = 503;
        res.end('unavailable\n');
        return;
      case 'hang':
        return; // never answers
      case 'reset':
        (this.raw.get(req.socket.remotePort ?? 0) ?? req.socket).resetAndDestroy();
        return;
      case 'slow': {
        const t = setTimeout(() => res.end(this.body), this.slowMs);
        res.on('close', () => clearTimeout(t));
        return;
      }
      case 'stopped':
        req.socket.destroy();
        return;
    }
  }

  async close(): Promise<void> {
    if (this.mode !== 'stopped') await this.closeListener();
  }
}

/** A self-signed certificate for 127.0.0.1 / www.example.test, made with openssl now. */
export function selfSignedCert(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'lvt-chk-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
      '-subj', '/CN=www.example.test',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A TCP listener that never accepts: a python3 socket with backlog 0 whose one queue slot
 * we fill ourselves; the kernel then drops further SYNs, so connects time out.
 */
export class BlackholeListener {
  port = 0;
  private child: ChildProcess | null = null;
  private filler: Socket | null = null;

  async open(): Promise<void> {
    const child = spawn('python3', ['-c', [
      'import socket, sys, time',
      "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
      'print(s.getsockname()[1]); sys.stdout.flush()',
      'time.sleep(120)',
    ].join('\n')], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    this.port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    });
    this.filler = connect(this.port, '127.0.0.1');
    await new Promise<void>((r) => this.filler!.once('connect', () => r()));
  }

  close(): void {
    this.filler?.destroy();
    if (this.child?.pid) process.kill(this.child.pid);
  }
}

/** MD5 of the body as genhash prints it (keepalived's own tool), or null when genhash is missing. */
export async function genhash(port: number, path: string, opts: { tls?: boolean; vhost?: string } = {}): Promise<string | null> {
  const args = [...(opts.tls ? ['-S'] : []), '-s', '127.0.0.1', '-p', String(port), '-u', path, ...(opts.vhost ? ['-V', opts.vhost] : [])];
  return new Promise((resolve, reject) => {
    execFile('genhash', args, { encoding: 'utf8', timeout: 5000 }, (err, stdout) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(null);
      if (err) return reject(err);
      const m = /([0-9a-f]{32})/.exec(stdout);
      resolve(m ? m[1]! : null);
    });
  });
}
