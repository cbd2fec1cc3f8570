/**
 * What the probes put on the wire and how they judge the answer, against real local
 * servers: keepalived's request, one connection per check, genhash-compatible digests,
 * TLS without verification, SNI, bounded bodies, several urls, source address.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createHash } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { HttpProbe } from '../../../src/check/http-probe.js';
import { TcpProbe } from '../../../src/check/tcp-probe.js';
import { MiscProbe } from '../../../src/check/misc-probe.js';
import type { ProbeContext } from '../../../src/check/probe.js';
import { systemClock } from '../../../src/lib/clock.js';
import { ChildScriptRunner } from '../../../src/io/script-runner.js';
import { httpChecker, miscChecker, tcpChecker, timing, url } from '../../unit/check/fixtures.js';
import { FlipServer, genhash, selfSignedCert } from './servers.js';

const warnings: string[] = [];
const ctx: ProbeContext = { clock: systemClock, scripts: new ChildScriptRunner(), warn: (m) => warnings.push(m) };
const T = { connectTimeoutMs: 1000 };
const servers: FlipServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});
async function server(opts: ConstructorParameters<typeof FlipServer>[0] = {}): Promise<FlipServer> {
  const s = new FlipServer(opts);
  servers.push(s);
  await s.listen();
  return s;
}
const tls = selfSignedCert();

test("HTTP_GET sends keepalived's request (User-Agent, Host ip:port or virtualhost) and never reuses a connection", async () => {
  const s = await server();
  const { host, port } = s.address;
  const p = new HttpProbe(httpChecker(host, port, [url('/a'), url('/b', { virtualhost: 'api.example.test' })], T), ctx);
  for (let i = 0; i < 3; i++) assert.deepEqual((await p.run()).ok, true);
  p.close();
  assert.equal(s.seen.length, 6);
  assert.equal(s.connections, 6, 'one connection per url per check');
  assert.equal(s.seen[0]!.headers['user-agent'], 'KeepAliveClient');
  assert.equal(s.seen[0]!.headers.host, `${host}:${port}`);
  assert.equal(s.seen[0]!.headers.connection, 'close');
  assert.equal(s.seen[1]!.url, '/b');
  assert.equal(s.seen[1]!.headers.host, 'api.example.test');
  const p2 = new HttpProbe(httpChecker(host, port, [url('/c')], T, { virtualhost: 'www.example.test' }), ctx);
  assert.equal((await p2.run()).ok, true);
  p2.close();
  assert.equal(s.seen.at(-1)!.headers.host, 'www.example.test');
});

test('exactly one connection per request, whatever the outcome (ok, 503, timeout, reset, digest)', async () => {
  const s = await server();
  const { host, port } = s.address;
  const p = new HttpProbe(httpChecker(host, port, [url('/', { digest: null })], { connectTimeoutMs: 150 }), ctx);
  const modes = ['ok', '503', 'hang', 'ok', 'reset', 'hang', 'slow', 'body', 'ok'] as const;
  s.slowMs = 400;
  const reasons: string[] = [];
  for (const m of modes) {
    await s.set(m);
    reasons.push((await p.run()).reason);
    await new Promise((r) => setTimeout(r, 60)); // undici must not dial ahead in the gap
  }
  p.close();
  assert.deepEqual(reasons, ['ok', 'status', 'timeout', 'ok', 'reset', 'timeout', 'timeout', 'ok', 'ok']);
  assert.equal(s.seen.length, modes.length);
  assert.equal(s.connections, modes.length, 'no connection opened ahead of a check');
});

test('all urls must pass: the first failing one fails the check and is named', async () => {
  const s = await server();
  const { host, port } = s.address;
  const p = new HttpProbe(httpChecker(host, port, [url('/ok'), url('/status/500'), url('/never')], T), ctx);
  const o = await p.run();
  p.close();
  assert.equal(o.ok, false);
  assert.equal(o.reason, 'status');
  assert.equal(o.detail, 'GET /status/500: status 500');
  assert.ok(!s.seen.some((r) => r.url === '/never'), 'stops at the first failure');
});

test('a retry starts at the url that failed (keepalived retries the failing url), a new check at the first', async () => {
  const s = await server();
  const { host, port } = s.address;
  const p = new HttpProbe(httpChecker(host, port, [url('/ok'), url('/status/500'), url('/never')], T), ctx);
  assert.equal((await p.run()).detail, 'GET /status/500: status 500');
  assert.deepEqual(s.seen.map((r) => r.url), ['/ok', '/status/500']);
  assert.equal((await p.run({ retry: true })).detail, 'GET /status/500: status 500');
  assert.deepEqual(s.seen.map((r) => r.url), ['/ok', '/status/500', '/status/500'], 'the retry fetched only the failing url');
  await p.run({ retry: false });
  assert.deepEqual(s.seen.slice(3).map((r) => r.url), ['/ok', '/status/500'], 'a new check starts over');
  p.close();
});

test('a body ended (FIN) before its Content-Length is judged on the bytes received, with a warning once; a RST fails it', async () => {
  const s = await server();
  const { host, port } = s.address;
  const md5 = (b: string) => createHash('md5').update(b).digest('hex');
  warnings.length = 0;
  const p = new HttpProbe(httpChecker(host, port, [url('/short')], T), ctx);
  assert.deepEqual(await p.run().then((o) => [o.ok, o.reason, o.detail]), [true, 'ok', ''], 'status 200: keepalived passes it (http_handle_response only logs)');
  assert.deepEqual(await p.run().then((o) => [o.ok, o.reason]), [true, 'ok']);
  assert.equal(warnings.length, 1, 'the same difference is warned about once');
  assert.match(warnings[0]!, /content_length \(100\) does not match received bytes \(5\)/);
  p.close();
  // the digest is over what came: the 5 bytes
  const d = new HttpProbe(httpChecker(host, port, [url('/short', { digest: md5('hello') })], T), ctx);
  assert.deepEqual(await d.run().then((o) => [o.ok, o.reason]), [true, 'ok']);
  d.close();
  const r = new HttpProbe(httpChecker(host, port, [url('/short-rst')], T), ctx);
  const o = await r.run();
  r.close();
  assert.deepEqual([o.ok, o.reason], [false, 'reset'], JSON.stringify(o));
});

test('a reload that changes connect_timeout reaches the probe (update): the next attempt uses it', async () => {
  const s = await server();
  s.mode = 'hang';
  const { host, port } = s.address;
  const c = httpChecker(host, port, [url('/')], { connectTimeoutMs: 2000 });
  const p = new HttpProbe(c, ctx);
  p.update({ ...c, timing: { ...c.timing, connectTimeoutMs: 120 } });
  const t0 = performance.now();
  const o = await p.run();
  p.close();
  assert.equal(o.detail, 'no response within 120 ms');
  assert.ok(performance.now() - t0 < 1000);
});

test('status_code ranges: 301 accepted when listed', async () => {
  const s = await server();
  const { host, port } = s.address;
  const ranges = [{ min: 200, max: 299 }, { min: 301, max: 301 }];
  const p = new HttpProbe(httpChecker(host, port, [url('/status/301', { statusCodes: ranges })], T), ctx);
  assert.equal((await p.run()).ok, true);
  const q = new HttpProbe(httpChecker(host, port, [url('/status/302', { statusCodes: ranges })], T), ctx);
  assert.deepEqual([(await q.run()).detail], ['status 302']);
  p.close();
  q.close();
});

// genhash is keepalived's own digest tool: our MD5 must be the one it prints for the same url.
const digestPaths = ['/', '/size/0', '/size/1', '/size/70000', '/size/300000', '/chunked'];
for (const path of digestPaths) {
  test(`digest of ${path} is the one keepalived's genhash computes (HTTP)`, async (t) => {
    const s = await server();
    s.body = 'hello, genhash\n';
    const { host, port } = s.address;
    const expected = await genhash(port, path);
    if (expected === null) return t.skip('genhash not installed');
    const good = new HttpProbe(httpChecker(host, port, [url(path, { digest: expected })], T), ctx);
    assert.deepEqual(await good.run().then((o) => [o.ok, o.reason]), [true, 'ok']);
    const bad = new HttpProbe(httpChecker(host, port, [url(path, { digest: '0'.repeat(32) })], T), ctx);
    const o = await bad.run();
    assert.equal(o.reason, 'digest_mismatch');
    assert.equal(o.detail, `digest ${expected} expected ${'0'.repeat(32)}`);
    good.close();
    bad.close();
  });
}

test("digest over TLS matches genhash -S; certificates are not verified (keepalived doesn't)", async (t) => {
  const s = await server({ tls });
  const { host, port } = s.address;
  const expected = await genhash(port, '/', { tls: true });
  if (expected === null) return t.skip('genhash not installed');
  const p = new HttpProbe(httpChecker(host, port, [url('/', { digest: expected })], T, { kind: 'ssl' }), ctx);
  const o = await p.run();
  p.close();
  assert.equal(o.ok, true, JSON.stringify(o));
});

test('SSL_GET: SNI is the virtualhost only with enable_sni; a fresh TLS handshake every check', async () => {
  const s = await server({ tls });
  const { host, port } = s.address;
  const withSni = new HttpProbe(httpChecker(host, port, [url('/')], T, { kind: 'ssl', virtualhost: 'www.example.test', sni: true }), ctx);
  assert.equal((await withSni.run()).ok, true);
  assert.equal((await withSni.run()).ok, true);
  withSni.close();
  assert.equal(s.seen.at(-1)!.servername, 'www.example.test');
  const noSni = new HttpProbe(httpChecker(host, port, [url('/')], T, { kind: 'ssl', virtualhost: 'www.example.test', sni: false }), ctx);
  assert.equal((await noSni.run()).ok, true);
  noSni.close();
  assert.equal(s.seen.at(-1)!.servername, null);
  assert.equal(s.seen.at(-1)!.headers.host, 'www.example.test');
  assert.equal(s.connections, 3, 'no connection or session reuse');
});

test('SSL_GET against a plain HTTP port fails with tls_error', async () => {
  const s = await server();
  const { host, port } = s.address;
  const p = new HttpProbe(httpChecker(host, port, [url('/')], T, { kind: 'ssl' }), ctx);
  const o = await p.run();
  p.close();
  assert.equal(o.ok, false);
  assert.equal(o.reason, 'tls_error', JSON.stringify(o));
});

test('the body read is bounded: over maxBodyBytes fails a digest check, passes a status-only check', async () => {
  const s = await server();
  const { host, port } = s.address;
  const withDigest = new HttpProbe(httpChecker(host, port, [url('/size/50000', { digest: 'a'.repeat(32) })], T, { maxBodyBytes: 10_000 }), ctx);
  const o = await withDigest.run();
  assert.equal(o.reason, 'body_too_large');
  assert.equal(o.detail, 'body over 10000 bytes');
  const statusOnly = new HttpProbe(httpChecker(host, port, [url('/size/50000')], T, { maxBodyBytes: 10_000 }), ctx);
  assert.equal((await statusOnly.run()).ok, true);
  withDigest.close();
  statusOnly.close();
});

test('bindto / bind_port set the source of HTTP and TCP checks', async () => {
  const s = await server();
  const { host, port } = s.address;
  const p = new HttpProbe(httpChecker(host, port, [url('/')], T, { bindTo: '127.0.0.2' }), ctx);
  assert.equal((await p.run()).ok, true);
  p.close();
  assert.equal(s.seen.at(-1)!.remoteAddress, '127.0.0.2');

  const seen: Array<{ address: string; port: number }> = [];
  const tcpSrv = createServer((sock) => {
    seen.push({ address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 });
    sock.destroy();
  });
  await new Promise<void>((r) => tcpSrv.listen(0, '127.0.0.1', r));
  const tport = (tcpSrv.address() as { port: number }).port;
  const srcPort = 20000 + (process.pid % 20000);
  const tp = new TcpProbe(tcpChecker('127.0.0.1', tport, T, { bindTo: '127.0.0.3', bindPort: srcPort }), ctx);
  const o = await tp.run();
  tp.close();
  await new Promise((r) => setTimeout(r, 20));
  tcpSrv.close();
  assert.equal(o.ok, true, JSON.stringify(o));
  assert.deepEqual(seen[0], { address: '127.0.0.3', port: srcPort });
});

test('bind_if without bindto binds to the interface address and warns once (no SO_BINDTODEVICE in Node)', async () => {
  const lo = Object.entries(networkInterfaces()).find(([, l]) => l?.some((a) => a.family === 'IPv4' && a.address === '127.0.0.1'))?.[0];
  assert.ok(lo, 'a loopback interface');
  const s = await server();
  const { host, port } = s.address;
  warnings.length = 0;
  const p = new TcpProbe(tcpChecker(host, port, T, { bindIf: lo }), ctx);
  assert.equal((await p.run()).ok, true);
  assert.equal((await p.run()).ok, true);
  p.close();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /SO_BINDTODEVICE/);
});

test('HTTP_GET over IPv6 loopback sends Host [::1]:port', async (t) => {
  const has6 = Object.values(networkInterfaces()).some((l) => l?.some((a) => a.address === '::1'));
  if (!has6) return t.skip('no ::1 on this host');
  const s = await server({ host: '::1' });
  const p = new HttpProbe(httpChecker('::1', s.address.port, [url('/')], T), ctx);
  const o = await p.run();
  p.close();
  assert.equal(o.ok, true, JSON.stringify(o));
  assert.equal(s.seen.at(-1)!.headers.host, `[::1]:${s.address.port}`);
});

test('MISC_CHECK: misc_timeout kills a hanging script (script_timeout), misc_dynamic turns exit codes into weights', async () => {
  const slow = new MiscProbe(miscChecker('198.18.1.1', 80, `/bin/sh -c 'sleep 5'`, timing(), { timeoutMs: 150 }), ctx);
  const t0 = performance.now();
  const o = await slow.run();
  assert.equal(o.reason, 'script_timeout');
  assert.ok(performance.now() - t0 < 2000);
  const dyn = new MiscProbe(miscChecker('198.18.1.1', 80, `/bin/sh -c 'exit 42'`, timing(), { dynamic: true, timeoutMs: 2000 }), ctx);
  const d = await dyn.run();
  assert.deepEqual([d.ok, d.weight], [true, 40]);
  const fail = new MiscProbe(miscChecker('198.18.1.1', 80, `/bin/sh -c 'exit 1'`, timing(), { dynamic: true, timeoutMs: 2000 }), ctx);
  assert.deepEqual(await fail.run().then((x) => [x.ok, x.reason, x.detail]), [false, 'script_exit', 'exit 1']);
  const missing = new MiscProbe(miscChecker('198.18.1.1', 80, '/nonexistent/check', timing(), { timeoutMs: 2000 }), ctx);
  assert.deepEqual(await missing.run().then((x) => [x.ok, x.reason, x.detail]), [false, 'error', 'ENOENT']);
});

test('closing a probe ends an attempt in flight with an outcome (never a hanging promise)', async () => {
  const s = await server();
  s.mode = 'hang';
  const { host, port } = s.address;
  const p = new HttpProbe(httpChecker(host, port, [url('/')], { connectTimeoutMs: 5000 }), ctx);
  const pending = p.run();
  await new Promise((r) => setTimeout(r, 50));
  p.close();
  const o = await pending;
  assert.deepEqual([o.ok, o.reason, o.detail], [false, 'error', 'checker stopped']);
});
