/**
 * The control socket: a unix stream socket (mode 0600) speaking JSON lines.
 *   request  {"id": 1, "cmd": "status", "args": {}}
 *   response {"id": 1, "ok": true, "result": ...} | {"id": 1, "ok": false, "error": {"code", "message"}}
 * The special command `watch` streams every event as {"id", "event": {...}} lines until the
 * client closes. Malformed, oversized or unknown requests get an error with a code; nothing a
 * client sends can crash the daemon.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { LvsdError } from '../lib/errors.js';
import type { EventBus } from '../events/bus.js';
import { fieldsOf } from '../events/log-sink.js';
import { ControlError, type CommandRegistry } from './registry.js';

/** Longest request line accepted (bytes). */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Concurrent client connections accepted. */
export const MAX_CLIENTS = 64;

/** A response line. */
export type ControlResponse =
  | { id: unknown; ok: true; result: unknown }
  | { id: unknown; ok: false; error: { code: string; message: string } };

/** Runs one parsed request against the registry; never throws. */
export async function dispatch(registry: CommandRegistry, req: unknown): Promise<ControlResponse> {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    return { id: null, ok: false, error: { code: 'ERR_CONTROL_BAD_REQUEST', message: 'request must be a JSON object {id, cmd, args}' } };
  }
  const r = req as Record<string, unknown>;
  const id = r.id ?? null;
  if (typeof r.cmd !== 'string' || r.cmd === '') {
    return { id, ok: false, error: { code: 'ERR_CONTROL_BAD_REQUEST', message: 'missing "cmd" (a string)' } };
  }
  const args = r.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return { id, ok: false, error: { code: 'ERR_CONTROL_BAD_ARGS', message: '"args" must be a JSON object' } };
  }
  const spec = registry.get(r.cmd);
  if (!spec) {
    const names = registry.list().map((c) => c.name).join(', ');
    return { id, ok: false, error: { code: 'ERR_CONTROL_UNKNOWN_COMMAND', message: `unknown command "${r.cmd}"; commands: ${names}` } };
  }
  try {
    const result = await spec.handler(args as Record<string, unknown>);
    return { id, ok: true, result: result === undefined ? null : result };
  } catch (err) {
    if (err instanceof ControlError || err instanceof LvsdError) return { id, ok: false, error: { code: err.code, message: err.message } };
    return { id, ok: false, error: { code: 'ERR_CONTROL_INTERNAL', message: err instanceof Error ? err.message : String(err) } };
  }
}

/** The control server. */
export class ControlServer {
  private server: Server | null = null;
  private readonly clients = new Set<Socket>();
  private readonly registry: CommandRegistry;
  private readonly bus: EventBus;
  private readonly path: string;
  private readonly onRequest: (cmd: string, ok: boolean, code: string | null) => void;

  constructor(opts: { path: string; registry: CommandRegistry; bus: EventBus; onRequest?: (cmd: string, ok: boolean, code: string | null) => void }) {
    this.path = opts.path;
    this.registry = opts.registry;
    this.bus = opts.bus;
    this.onRequest = opts.onRequest ?? (() => {});
  }

  /** Listens on the socket path; a stale socket from a dead daemon is replaced, a live one is an error. */
  async listen(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    if (existsSync(this.path)) {
      if (!lstatSync(this.path).isSocket()) throw new LvsdError('ERR_CONTROL_PATH', `${this.path} exists and is not a socket`);
      if (await isAlive(this.path)) throw new LvsdError('ERR_CONTROL_IN_USE', `another daemon answers on ${this.path}`);
      unlinkSync(this.path);
    }
    const server = createServer((sock) => this.accept(sock));
    server.maxConnections = MAX_CLIENTS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    server.on('error', () => { /* per-connection errors are handled on sockets */ });
    this.server = server;
  }

  /** Stops listening, closes clients and removes the socket file. */
  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }

  private accept(sock: Socket): void {
    this.clients.add(sock);
    let buf = '';
    let unwatch: (() => void) | null = null;
    let chain = Promise.resolve();
    const send = (obj: unknown) => {
      if (!sock.destroyed && sock.writable) sock.write(JSON.stringify(obj) + '\n');
    };
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (;;) {
        const nl = buf.indexOf('\n');
        if (nl < 0) break;
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) {
          send({ id: null, ok: false, error: { code: 'ERR_CONTROL_TOO_LARGE', message: `request over ${MAX_REQUEST_BYTES} bytes` } });
          this.onRequest('?', false, 'ERR_CONTROL_TOO_LARGE');
          continue;
        }
        let req: unknown;
        try {
          req = JSON.parse(line);
        } catch {
          send({ id: null, ok: false, error: { code: 'ERR_CONTROL_PARSE', message: 'request is not valid JSON' } });
          this.onRequest('?', false, 'ERR_CONTROL_PARSE');
          continue;
        }
        const r = req as { id?: unknown; cmd?: unknown };
        if (r && typeof r === 'object' && r.cmd === 'watch') {
          if (!unwatch) {
            const id = r.id ?? null;
            unwatch = this.bus.onAny((ev) => send({ id, event: fieldsOf(ev) }));
            send({ id, ok: true, result: { watching: true } });
          }
          continue;
        }
        // Requests on one connection are answered in order.
        chain = chain.then(async () => {
          const res = await dispatch(this.registry, req);
          this.onRequest(typeof r?.cmd === 'string' ? r.cmd : '?', res.ok, res.ok ? null : res.error.code);
          send(res);
        });
      }
      if (Buffer.byteLength(buf) > MAX_REQUEST_BYTES) {
        send({ id: null, ok: false, error: { code: 'ERR_CONTROL_TOO_LARGE', message: `request over ${MAX_REQUEST_BYTES} bytes` } });
        this.onRequest('?', false, 'ERR_CONTROL_TOO_LARGE');
        sock.end();
        sock.destroy();
      }
    });
    const done = () => {
      unwatch?.();
      unwatch = null;
      this.clients.delete(sock);
    };
    sock.on('error', done);
    sock.on('close', done);
  }
}

function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const t = setTimeout(() => { s.destroy(); resolve(false); }, 500);
    s.once('connect', () => { clearTimeout(t); s.destroy(); resolve(true); });
    s.once('error', () => { clearTimeout(t); resolve(false); });
  });
}
