/**
 * Real servers for the forwarding bench: one nginx (Debian `nginx-light`) per real-server
 * namespace, each with its own config, pid, logs and temp paths in the run's temp dir,
 * started in the foreground as a single process (`daemon off`, `master_process off`), so the
 * PID we hold is the process that serves and ending it by PID leaves nothing behind (with a
 * master, a SIGKILL on abnormal exit orphaned its workers). nginx answers a 3-byte body per request from one worker process with no
 * access log, so the servers are not what limits any variant (the previous bench's Node
 * servers were: lvsd ≈ direct access on keep-alive). When nginx is missing, the Node
 * fixture server is used and the report says so.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../../test/netns/lib/netns.js';
import { waitFor } from '../../test/netns/lib/netns.js';

const NODE_SERVER = fileURLToPath(new URL('../../test/netns/forward/fixtures/http-name.mjs', import.meta.url));
const NGINX = '/usr/sbin/nginx';

/** One running real server. */
export interface RealServerProc {
  readonly host: string;
  readonly address: string;
  readonly child: ChildProcess;
}

/** Which server program runs. */
export type ServerKind = 'nginx' | 'node';

/** nginx when installed (`apt-get install -y nginx-light`), else the Node fixture server. */
export function serverKind(want?: string): ServerKind {
  if (want === 'node') return 'node';
  return existsSync(NGINX) ? 'nginx' : 'node';
}

function nginxConf(dir: string, name: string, address: string, port: number): string {
  return [
    'daemon off;',
    'master_process off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'worker_rlimit_nofile 16384;',
    'events { worker_connections 8192; multi_accept on; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;`,
    `  scgi_temp_path ${dir}/scgi; uwsgi_temp_path ${dir}/uwsgi;`,
    '  keepalive_requests 100000000;',
    '  keepalive_timeout 60s;',
    `  server { listen ${address}:${port} backlog=4096; location / { return 200 "${name}\\n"; } }`,
    '}',
    '',
  ].join('\n');
}

/** Starts one server per (host, address) and waits until each answers. */
export async function startRealServers(t: Topology, dir: string, kind: ServerKind, hosts: readonly string[], addresses: readonly string[], port: number): Promise<RealServerProc[]> {
  const out: RealServerProc[] = [];
  for (const [i, host] of hosts.entries()) {
    const address = addresses[i]!;
    let child: ChildProcess;
    if (kind === 'nginx') {
      const d = join(dir, `nginx-${host}`);
      mkdirSync(d, { recursive: true });
      const conf = join(d, 'nginx.conf');
      writeFileSync(conf, nginxConf(d, host, address, port));
      child = t.spawn(host, [NGINX, '-c', conf, '-p', d, '-e', join(d, 'error.log')]);
    } else {
      child = t.spawn(host, [process.execPath, NODE_SERVER, host, address, String(port)]);
    }
    out.push({ host, address, child });
  }
  for (const s of out) {
    await waitFor(async () => (await t.exec(s.host, ['curl', '-s', '--max-time', '1', `http://${s.address}:${port}/`])).code === 0, 10_000, 100, s.host);
  }
  return out;
}
