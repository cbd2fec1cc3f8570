/**
 * The end-to-end harness: the lab's network (src/lab/network.ts) with real lvsd daemons
 * started from keepalived.conf files on both directors (src/lab/director.ts, log lines
 * captured as parsed objects), the lab's real servers, its probing client, and packet
 * captures on the switches. Namespaces carry the prefix `lvt-e2e-RANDOM-`; cleanup()
 * removes everything (the Topology helper also does on exit and signals).
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Topology, waitFor } from '../../../../src/lab/topology.js';
import { buildLabNetwork, LAB, type LabDirector, type LabReal } from '../../../../src/lab/network.js';
import { LvsdDirector, type LogEvent } from '../../../../src/lab/director.js';
import { startRealServer, type RealServerProc } from '../../../../src/lab/real-servers.js';
import { Probe, type ProbeOptions } from '../../../../src/lab/probe.js';
import { LineReader } from '../../../../src/lab/lines.js';
import { LAB_CONFIG_DIR } from '../../../../src/lab/paths.js';
import { masterDownIntervalMs, skewMs } from '../../../../src/vrrp/machine.js';
import { labSettings } from '../../../../src/lab/settings.js';
import { advertIntMsOf, pairConfig, PRIORITY, type PairConfigOptions } from './config.js';

export { LAB } from '../../../../src/lab/network.js';
export type { LogEvent } from '../../../../src/lab/director.js';

/** How to configure the pair: the shipped config/lab files, or generated ones. */
export interface PairOptions {
  readonly config?: 'shipped' | PairConfigOptions;
  /** Also build (and start a real server on) the spare host rs4. */
  readonly spare?: boolean;
}

/** A VRRP transition of an instance to a state, at or after a time. */
export const transition = (to: string, instance = 'VI_FRONT', afterMs = 0) => (e: LogEvent) =>
  e.event === 'vrrp.transition' && e.instance === instance && e.to === to && e.t >= afterMs;

/** Two lvsd directors, three (or four) real servers and a client, running. */
export class Pair {
  readonly topo = new Topology('e2e');
  readonly dir = mkdtempSync(join(tmpdir(), 'lvt-e2e-'));
  readonly directors = new Map<string, LvsdDirector>();
  readonly reals = new Map<string, RealServerProc>();
  readonly advertIntMs: number;
  private readonly opts: PairOptions;

  private constructor(opts: PairOptions) {
    this.opts = opts;
    // From the files the directors run: the shipped ones, or the generator's options.
    this.advertIntMs = opts.config === 'shipped' || opts.config === undefined ? labSettings().advertIntMs : advertIntMsOf(opts.config);
  }

  /** Builds the network, starts the real servers, then dir1 (MASTER) and dir2 (BACKUP). */
  static async start(opts: PairOptions = {}): Promise<Pair> {
    const p = new Pair(opts);
    try {
      await buildLabNetwork(p.topo, { spare: opts.spare });
      for (const r of opts.spare ? [...LAB.reals, LAB.spare] : LAB.reals) p.reals.set(r.name, await startRealServer(p.topo, r, p.dir));
      for (const d of LAB.directors) {
        const configFile = join(p.dir, `${d.name}.conf`);
        if (opts.config === 'shipped' || opts.config === undefined) copyFileSync(join(LAB_CONFIG_DIR, `${d.name}.conf`), configFile);
        else writeFileSync(configFile, pairConfig(d, opts.config));
        p.directors.set(d.name, new LvsdDirector(p.topo, d.name, { configFile, controlPath: join(p.dir, `${d.name}.sock`), logFile: join(p.dir, `${d.name}.log`) }));
      }
      await p.startDirector('dir1');
      await p.d('dir1').waitEvent(transition('MASTER', 'VI_FRONT'), 15_000, 'dir1 MASTER');
      await p.d('dir1').waitEvent(transition('MASTER', 'VI_BACK'), 5_000, 'dir1 VI_BACK MASTER');
      await p.startDirector('dir2');
      await p.d('dir2').waitEvent(transition('BACKUP', 'VI_FRONT'), 5_000, 'dir2 BACKUP');
      await p.realsUp('dir1');
      await p.realsUp('dir2');
    } catch (e) {
      await p.cleanup();
      throw e;
    }
    return p;
  }

  /** A director by name. */
  d(name: string): LvsdDirector {
    return this.directors.get(name)!;
  }

  /** Starts lvsd on a director and waits for its startup config. */
  async startDirector(name: string): Promise<ChildProcess> {
    const child = this.d(name).start();
    await this.d(name).waitStarted();
    return child;
  }

  /** Waits until a director has seen every configured real server up. */
  async realsUp(name: string, reals: readonly LabReal[] = LAB.reals): Promise<void> {
    for (const r of reals) {
      await this.d(name).waitEvent((e) => e.event === 'real.up' && e.real === `${r.address}:${LAB.port}`, 15_000, `${r.name} up on ${name}`);
    }
  }

  /** Master_Down_Interval of a director (its priority, the pair's advert interval and VRRP version). */
  mdiMs(name: string): number {
    return masterDownIntervalMs(labSettings().vrrpVersion, PRIORITY[name]!, this.advertIntMs);
  }

  /** Skew_Time of a director: its wait after a priority-0 advert. */
  skewMs(name: string): number {
    return skewMs(labSettings().vrrpVersion, PRIORITY[name]!, this.advertIntMs);
  }

  /** Rewrites a director's config file (the next SIGHUP loads it). */
  writeConfig(name: string, text: string): string {
    const f = this.d(name).files.configFile;
    writeFileSync(f, text);
    return f;
  }

  /** The config text lvsd would get from the generator for a director. */
  configFor(d: LabDirector, o: PairConfigOptions): string {
    return pairConfig(d, o);
  }

  /** Starts the probing client on the client host (new connection every intervalMs). */
  probe(o: Partial<ProbeOptions> = {}): Promise<Probe> {
    return Probe.start(this.topo, LAB.client.name, { target: `${LAB.vip}:${LAB.port}`, intervalMs: 10, timeoutMs: 800, ...o });
  }

  /** The lladdr of a host's neighbour entry for an address (null: none). */
  async neighbour(host: string, address: string): Promise<string | null> {
    const r = await this.topo.exec(host, ['ip', 'neigh', 'show', address]);
    return /lladdr ([0-9a-f:]+)/.exec(r.stdout)?.[1] ?? null;
  }

  /** The bridge port of a switch host that leads to a MAC address (from the bridge's FDB). */
  async bridgePort(switchHost: 'front' | 'back', mac: string): Promise<string> {
    return waitFor(async () => {
      const r = await this.topo.exec(switchHost, ['bridge', 'fdb', 'show', 'br', 'br0']);
      const line = r.stdout.split('\n').find((l) => l.startsWith(`${mac} dev `));
      return line ? line.split(' ')[2]! : null;
    }, 3000, 50, `${mac} in the ${switchHost} bridge's FDB`);
  }

  /**
   * Starts tcpdump on an interface of a host; stop() resolves with each packet's capture time
   * (epoch ms) and text. `direction` 'out' on a bridge port keeps the frames the bridge
   * delivers to the host behind it (what that host receives), 'in' those it sent.
   */
  async capture(host: string, iface: string, filter: string, direction?: 'in' | 'out'): Promise<Capture> {
    const child = this.topo.spawn(host, ['tcpdump', '-p', '-n', '-tt', '-l', '--immediate-mode', ...(direction ? ['-Q', direction] : []), '-i', iface, filter]);
    const out = new LineReader(child.stdout, child.stderr);
    await out.waitFor((l) => l.includes('listening on'), 5000, `tcpdump on ${host} ${iface}`);
    return {
      packets: () => parsePackets(out.lines),
      stop: async () => {
        await new Promise((r) => setTimeout(r, 100));
        await this.topo.kill(child, 'SIGINT');
        return parsePackets(out.lines);
      },
    };
  }

  /** Stops everything and removes the namespaces and files. */
  async cleanup(): Promise<void> {
    for (const d of this.directors.values()) d.close();
    await this.topo.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A running packet capture. */
export interface Capture {
  packets(): CapturedPacket[];
  stop(): Promise<CapturedPacket[]>;
}

/** A packet as tcpdump printed it. */
export interface CapturedPacket {
  readonly t: number;
  readonly line: string;
}

function parsePackets(lines: readonly string[]): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  for (const l of lines) {
    const m = /^(\d+\.\d+) /.exec(l);
    if (m) out.push({ t: Number(m[1]) * 1000, line: l });
  }
  return out;
}

/** Sleeps. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
