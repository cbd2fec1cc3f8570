/**
 * A director pair for the connection-sync tests: the lab's network (src/lab/network.ts),
 * real lvsd daemons from generated keepalived.conf files (with or without
 * `lvs_sync_daemon`), the lab's HTTP real servers plus a line echo server on port 7, and a
 * client running long-lived sessions (sessions-cli.ts). Namespaces carry the prefix
 * `lvt-sync-RANDOM-`; cleanup() removes everything.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Topology } from '../../../../src/lab/topology.js';
import { buildLabNetwork, LAB, type LabDirector } from '../../../../src/lab/network.js';
import { LvsdDirector, type LogEvent } from '../../../../src/lab/director.js';
import { startRealServer } from '../../../../src/lab/real-servers.js';
import { LineReader } from '../../../../src/lab/lines.js';

export { LAB } from '../../../../src/lab/network.js';

/** Priorities: dir1 is the preferred MASTER. */
export const PRIORITY: Record<string, number> = { dir1: 150, dir2: 100 };
export const ECHO_PORT = 7;
export const PERSIST_PORT = 81;

/** What a test turns. */
export interface SyncPairOptions {
  /** `lvs_sync_daemon` on both directors (default true). */
  readonly sync?: boolean;
  /** preempt_delay in seconds (time for the new MASTER to re-sync connections to the restarted one). */
  readonly preemptDelayS?: number;
  /** lvs_method of the services (default NAT). */
  readonly method?: 'NAT' | 'DR';
}

/** The keepalived.conf of one director. */
export function syncPairConfig(d: LabDirector, o: SyncPairOptions = {}): string {
  const prio = PRIORITY[d.name]!;
  const method = o.method ?? 'NAT';
  const instance = (name: string, iface: string, vrid: number, vip: string) => `
vrrp_instance ${name} {
  state BACKUP
  interface ${iface}
  virtual_router_id ${vrid}
  priority ${prio}
  advert_int 0.2
  preempt_delay ${o.preemptDelayS ?? 2}
  virtual_ipaddress {
    ${vip}/24 dev ${iface}
  }
}
`;
  const httpReal = (address: string) => `
  real_server ${address} 80 {
    HTTP_GET {
      url {
        path /health
        status_code 200
      }
      connect_timeout 1
      retry 1
      delay_before_retry 0.5
    }
  }
`;
  const tcpReal = (address: string, port: number) => `
  real_server ${address} ${port} {
    TCP_CHECK {
      connect_timeout 1
    }
  }
`;
  const vs = (port: number, extra: string, reals: string) => `
virtual_server ${LAB.vip} ${port} {
  protocol TCP
  lvs_sched rr
  lvs_method ${method}
  delay_loop 1
  alpha
${extra}${reals}}
`;
  return `global_defs {
  router_id sync-${d.name}
  vrrp_version 3
${o.sync === false ? '' : '  lvs_sync_daemon eth1 VI_FRONT\n'}}
vrrp_sync_group PAIR {
  group {
    VI_FRONT
    VI_BACK
  }
}
${instance('VI_FRONT', 'eth0', 51, LAB.vip)}${instance('VI_BACK', 'eth1', 52, LAB.gatewayVip)}
${vs(80, '', LAB.reals.map((r) => httpReal(r.address)).join(''))}
${vs(ECHO_PORT, '', LAB.reals.map((r) => tcpReal(r.address, ECHO_PORT)).join(''))}
${vs(PERSIST_PORT, '  persistence_timeout 300\n', LAB.reals.map((r) => httpReal(r.address)).join(''))}
`;
}

/** One report of the client's sessions. */
export interface SessionReport {
  readonly t: number;
  readonly ready: boolean;
  readonly sessions: readonly {
    readonly id: number; readonly kind: string; readonly lport: number; readonly bytes: number; readonly exchanges: number;
    readonly server: string | null; readonly lastRx: number; readonly error: string | null; readonly closed: boolean;
  }[];
}

/** The client's running sessions. */
export class Sessions {
  readonly reports: SessionReport[] = [];
  /** Lines that were not reports (errors of the client program). */
  readonly other: string[] = [];
  private readonly child: ChildProcess;
  private readonly out: LineReader;
  private readonly topo: Topology;
  constructor(topo: Topology, child: ChildProcess) {
    this.topo = topo;
    this.child = child;
    this.out = new LineReader(child.stdout!, child.stderr!);
    this.out.onLine((l) => {
      if (l.startsWith('{')) this.reports.push(JSON.parse(l) as SessionReport);
      else this.other.push(l);
    });
  }
  get last(): SessionReport | undefined {
    return this.reports[this.reports.length - 1];
  }
  /** The first report at or after time t. */
  at(t: number): SessionReport | undefined {
    return this.reports.find((r) => r.t >= t);
  }
  async waitReady(timeoutMs: number): Promise<SessionReport> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const r = this.last;
      if (r?.ready) return r;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`sessions not ready in ${timeoutMs} ms: ${JSON.stringify(this.last?.sessions)} ${this.other.join(' | ')}`);
  }
  async stop(): Promise<SessionReport | undefined> {
    await this.topo.kill(this.child, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    return this.last;
  }
}

/** Two lvsd directors with sync (or not), three real servers (HTTP :80, echo :7) and a client. */
export class SyncPair {
  readonly topo = new Topology('sync');
  readonly dir = mkdtempSync(join(tmpdir(), 'lvt-sync-'));
  readonly directors = new Map<string, LvsdDirector>();
  readonly opts: SyncPairOptions;

  private constructor(opts: SyncPairOptions) {
    this.opts = opts;
  }

  /** Builds the network, starts the servers, dir1 (MASTER) then dir2 (BACKUP), waits for every real server up on both. */
  static async start(opts: SyncPairOptions = {}): Promise<SyncPair> {
    const p = new SyncPair(opts);
    try {
      await buildLabNetwork(p.topo);
      for (const r of LAB.reals) {
        await startRealServer(p.topo, r, p.dir);
        const echo = p.topo.spawn(r.name, [process.execPath, '--import', 'tsx', 'test/netns/sync/echo-server.ts', r.address, String(ECHO_PORT)]);
        await new LineReader(echo.stdout!, echo.stderr!).waitFor((l) => l.startsWith('listening'), 15_000, `${r.name} echo`);
      }
      for (const d of LAB.directors) {
        const configFile = join(p.dir, `${d.name}.conf`);
        writeFileSync(configFile, syncPairConfig(d, opts));
        p.directors.set(d.name, new LvsdDirector(p.topo, d.name, { configFile, controlPath: join(p.dir, `${d.name}.sock`), logFile: join(p.dir, `${d.name}.log`) }));
      }
      await p.startDirector('dir1');
      await p.d('dir1').waitEvent(transition('MASTER'), 15_000, 'dir1 MASTER');
      await p.startDirector('dir2');
      await p.d('dir2').waitEvent(transition('BACKUP'), 10_000, 'dir2 BACKUP');
      for (const n of ['dir1', 'dir2']) await p.realsUp(n);
    } catch (e) {
      await p.cleanup();
      throw e;
    }
    return p;
  }

  d(name: string): LvsdDirector {
    return this.directors.get(name)!;
  }

  async startDirector(name: string, since = 0): Promise<void> {
    this.d(name).start();
    await this.d(name).waitStarted();
    void since;
  }

  /** Every real server up in all three services on a director (since time t). */
  async realsUp(name: string, since = 0): Promise<void> {
    const want = LAB.reals.length * 3;
    const end = Date.now() + 20_000;
    while (Date.now() < end) {
      const ups = this.d(name).events.filter((e) => e.event === 'real.up' && e.t >= since && e.pid === this.d(name).child?.pid);
      if (new Set(ups.map((e) => `${String(e.service)}|${String(e.real)}`)).size >= want) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name}: real servers not all up\n${this.d(name).lastLines(20)}`);
  }

  /** Starts the client's sessions. */
  sessions(o: { streams: number; echo: number; keepalive: number; persist: number }): Sessions {
    const args = { vip: LAB.vip, httpPort: 80, echoPort: ECHO_PORT, persistPort: PERSIST_PORT, echoMs: 50, keepaliveMs: 100, reportMs: 100, ...o };
    const child = this.topo.spawn(LAB.client.name, [process.execPath, '--import', 'tsx', 'test/netns/sync/sessions-cli.ts', JSON.stringify(args)]);
    return new Sessions(this.topo, child);
  }

  /** One HTTP GET / from the client to VIP:port; the real server's name. */
  async get(port: number): Promise<string> {
    const r = await this.topo.exec(LAB.client.name, ['curl', '-s', '--max-time', '2', `http://${LAB.vip}:${port}/`]);
    return r.stdout.trim();
  }

  /** A director's connection listing (lvsadm -L -c --json). */
  async conns(name: string): Promise<{ source: string; virtual: string; destination: string; state: string; template: boolean }[]> {
    const r = await this.d(name).lvsadm(['--json', '-L', '-n', '-c']);
    return (JSON.parse(r.stdout) as { conns?: { source: string; virtual: string; destination: string; state: string; template: boolean }[] }).conns ?? [];
  }

  /** A director's `lvsadm sync --json`. */
  async syncStatus(name: string): Promise<Record<string, unknown> & { counters: Record<string, number>; workers: Record<string, number>; dropped: Record<string, number>; role: string }> {
    const r = await this.d(name).lvsadm(['--json', 'sync']);
    return JSON.parse(r.stdout);
  }

  async cleanup(): Promise<void> {
    for (const d of this.directors.values()) d.close();
    await this.topo.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A VRRP transition of an instance to a state, at or after a time. */
export const transition = (to: string, instance = 'VI_FRONT', afterMs = 0) => (e: LogEvent) =>
  e.event === 'vrrp.transition' && e.instance === instance && e.to === to && e.t >= afterMs;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
