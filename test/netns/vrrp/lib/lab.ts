/**
 * The VRRP lab for netns tests: a switch (bridge) with two directors and a client on one
 * 198.18.10.0/24 segment, plus helpers to run lvsd (the harness), real keepalived, a UDP
 * echo service and a probing client, and to read what they print. Everything started is
 * killed by PID and every namespace removed by cleanup() (also on exit and signals,
 * through the shared Topology helper).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { Topology, waitFor } from '../../lib/netns.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../../../../', import.meta.url));

export const SUBNET = '198.18.10';
export const VIP = `${SUBNET}.100`;
export const ECHO_PORT = 7007;

/** Reads a child's stdout/stderr line by line. */
export class Lines {
  readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  constructor(child: ChildProcess) {
    let buf = '';
    const take = (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      for (const w of this.waiters.splice(0)) w();
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
  }
}

/** An lvsd event read from its JSON log line: `type` is the line's `event`, `t` its time in ms. */
export type LvsdLogEvent = Record<string, unknown> & { t: number; type: string };

/** A running lvsd daemon with its events. */
export interface LvsdProc {
  readonly child: ChildProcess;
  readonly out: Lines;
  /** The control socket. */
  readonly control: string;
  /** The config file it was started with (rewrite it and send SIGHUP to reload). */
  readonly confPath: string;
  events(): LvsdLogEvent[];
  /** Waits for an event matching pred; returns it. */
  waitEvent(pred: (e: LvsdLogEvent) => boolean, timeoutMs: number, what: string): Promise<LvsdLogEvent>;
}

/** A running keepalived. */
export interface KeepalivedProc {
  readonly child: ChildProcess;
  readonly out: Lines;
  /** Waits for a log line matching re at or after line index `from`. */
  waitLog(re: RegExp, timeoutMs: number, from?: number): Promise<string>;
}

export class VrrpLab {
  readonly topo: Topology;
  readonly dir: string;
  private seq = 0;
  private readonly attach: (peer: string, peerIf: string, mac?: string) => Promise<void>;

  private constructor(topo: Topology, attach: (peer: string, peerIf: string, mac?: string) => Promise<void>) {
    this.topo = topo;
    this.attach = attach;
    this.dir = mkdtempSync(join(tmpdir(), 'lvt-vrrp-'));
  }

  /** sw + d1 (.1) + d2 (.2) + client (.50) on one bridge; fixed MACs make the ARP checks readable. */
  static async create(): Promise<VrrpLab> {
    const topo = new Topology('vrrp');
    const attach = await topo.addSwitch('sw');
    const lab = new VrrpLab(topo, attach);
    try {
      await topo.addHosts('d1', 'd2', 'client');
      await attach('d1', 'eth0', '02:00:00:0a:00:01');
      await attach('d2', 'eth0', '02:00:00:0a:00:02');
      await attach('client', 'eth0', '02:00:00:0a:00:50');
      await topo.addr('d1', 'eth0', `${SUBNET}.1/24`);
      await topo.addr('d2', 'eth0', `${SUBNET}.2/24`);
      await topo.addr('client', 'eth0', `${SUBNET}.50/24`);
    } catch (e) {
      await lab.cleanup();
      throw e;
    }
    return lab;
  }

  file(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text);
    return p;
  }

  /**
   * Starts the lvsd daemon (src/cli/lvsd.ts, run from source through tsx) on a host with a
   * keepalived.conf, logging JSON lines at debug level (so dropped packets show).
   */
  startLvsd(host: string, conf: string): LvsdProc {
    const n = this.seq++;
    const f = this.file(`${host}-lvsd-${n}.conf`, conf);
    const control = join(this.dir, `${host}-lvsd-${n}.sock`);
    const entry = `import { lvsdMain } from ${JSON.stringify(join(repo, 'src/cli/lvsd.ts'))}; process.exit(await lvsdMain(process.argv.slice(1)));`;
    const child = this.topo.spawn(host, [process.execPath, '--import', 'tsx', '--input-type=module', '-e', entry, '--', '-f', f, '--control', control, '--log-level', 'debug'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = new Lines(child);
    const events = () => {
      const evs: LvsdLogEvent[] = [];
      for (const l of out.lines) {
        if (!l.startsWith('{')) continue;
        try {
          const o = JSON.parse(l) as Record<string, unknown>;
          evs.push({ ...o, type: String(o.event), t: Date.parse(String(o.time)) });
        } catch {
          /* partial */
        }
      }
      return evs;
    };
    return {
      child, out, control, confPath: f, events,
      waitEvent: async (pred, timeoutMs, what) => {
        try {
          return await waitFor(() => events().find(pred), timeoutMs, 10, `${host}: ${what}`);
        } catch (e) {
          // show what the daemon said, so a failure explains itself
          const tail = out.lines.slice(-25).map((l) => `    ${l.slice(0, 400)}`).join('\n');
          throw new Error(`${(e as Error).message}; exit ${child.exitCode ?? child.signalCode ?? 'none'}; last output:\n${tail}`);
        }
      },
    };
  }

  /** Starts Debian's keepalived (VRRP only) on a host with its own config and pid files. */
  startKeepalived(host: string, conf: string): KeepalivedProc {
    const f = this.file(`${host}-keepalived.conf`, conf);
    const child = this.topo.spawn(host, [
      '/usr/sbin/keepalived', '-f', f, '--dont-fork', '--log-console', '--vrrp', '--log-detail',
      '-p', join(this.dir, `${host}-keepalived.pid`), '-r', join(this.dir, `${host}-vrrp.pid`),
    ]);
    const out = new Lines(child);
    return {
      child, out,
      waitLog: (re, timeoutMs, from = 0) => waitFor(() => out.lines.slice(from).find((l) => re.test(l)), timeoutMs, 10, `${host} keepalived log ${re}`),
    };
  }

  /** Starts the UDP echo service on a director. */
  async startEcho(host: string): Promise<ChildProcess> {
    const child = this.topo.spawn(host, [process.execPath, join(here, 'udp-echo.mjs'), host, String(ECHO_PORT)]);
    const out = new Lines(child);
    await waitFor(() => out.lines.includes('ready'), 5000, 20, `${host} echo ready`);
    return child;
  }

  /** Probes the VIP from the client every intervalMs for durationMs; resolves with every reply. */
  probe(intervalMs: number, durationMs: number): { ready: Promise<number>; done: Promise<ProbeResult> } {
    const child = this.topo.spawn('client', [process.execPath, join(here, 'udp-probe.mjs'), VIP, String(ECHO_PORT), String(intervalMs), String(durationMs)]);
    const out = new Lines(child);
    const ready = waitFor(() => out.lines.find((l) => l.startsWith('ready')), 5000, 10, 'probe ready').then((l) => Number(l.split(' ')[1]));
    const done = waitFor(() => out.lines.find((l) => l.startsWith('{')), durationMs + 10_000, 50, 'probe result').then((l) => JSON.parse(l) as ProbeResult);
    return { ready, done };
  }

  /** The client's ARP entry for the VIP (lladdr), or null. */
  async clientArp(): Promise<string | null> {
    const r = await this.topo.exec('client', ['ip', 'neigh', 'show', VIP, 'dev', 'eth0']);
    const m = /lladdr ([0-9a-f:]+)/.exec(r.stdout);
    return m ? m[1]! : null;
  }

  /** Waits until eth0's link-local IPv6 address has passed DAD; returns it. */
  async linkLocal(host: string): Promise<string> {
    return waitFor(async () => {
      const r = await this.topo.exec(host, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']);
      const m = /inet6 (fe80::[0-9a-f:]+)\/64/.exec(r.stdout);
      return m && !r.stdout.includes('tentative') ? m[1]! : null;
    }, 5000, 50, `${host} link-local address`);
  }

  /** Kernel addresses on a host's eth0. */
  async addresses(host: string): Promise<string[]> {
    const r = await this.topo.exec(host, ['ip', '-o', 'addr', 'show', 'dev', 'eth0']);
    return [...r.stdout.matchAll(/inet6? ([0-9a-f.:]+)\//g)].map((m) => m[1]!);
  }

  async cleanup(): Promise<void> {
    await this.topo.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What the probing client saw. */
export interface ProbeResult {
  sent: number[];
  replies: Array<{ seq: number; sentMs: number; recvMs: number; from: string }>;
}

/**
 * The service interruption a client saw across a failover at `atMs` to `newFrom`: from the
 * last reply by anyone else before the new answerer's first reply after `atMs`, to that reply.
 */
export function failoverGap(p: ProbeResult, atMs: number, newFrom: string): { gapMs: number; fromEventMs: number; lastOldMs: number; firstNewMs: number; lost: number } {
  const rs = [...p.replies].sort((a, b) => a.recvMs - b.recvMs);
  const firstNew = rs.find((r) => r.from === newFrom && r.recvMs > atMs);
  if (!firstNew) throw new Error(`no reply from ${newFrom} after ${atMs} (${rs.length} replies)`);
  const old = rs.filter((r) => r.from !== newFrom && r.recvMs < firstNew.recvMs);
  const lastOld = old.length ? old[old.length - 1]!.recvMs : atMs;
  const answered = new Set(rs.map((r) => r.seq));
  let lost = 0;
  for (let seq = 0; seq < p.sent.length; seq++) if (p.sent[seq]! > lastOld && p.sent[seq]! < firstNew.sentMs && !answered.has(seq)) lost++;
  return { gapMs: firstNew.recvMs - lastOld, fromEventMs: firstNew.recvMs - atMs, lastOldMs: lastOld, firstNewMs: firstNew.recvMs, lost };
}

/**
 * A keepalived receive error in its log (what "no packet errors" checks): every message
 * keepalived 2.2.x logs when it refuses a VRRP packet (vrrp.c vrrp_check_packet,
 * vrrp_scheduler.c vrrp_dispatcher_read; checked against the strings in Debian's 2.2.7
 * binary), plus the 2.0.x spellings. "Setting unicast VRRPv3 checksum to old version" is not
 * one: keepalived accepts that packet.
 */
export const KEEPALIVED_RX_ERRORS = new RegExp([
  'vrrp packet too (short|long)', 'VRRP packet (with AH )?too short', 'invalid TTL/HL', 'invalid ttl', 'TTL/HL \\d+ not in range',
  'wrong version', 'Invalid auth type', 'received a \\d+ auth, expecting', 'auth, expecting', 'invalid passwd',
  'Received AH header but auth type not AH', 'No AH header but auth type is AH', 'IPSEC-AH : (invalid|sequence number)',
  'advertisement interval mismatch', 'Invalid packet type', 'VRID mismatch', '(invalid|unexpected) ip number count',
  'ip_tot_len mismatch', 'length mismatch', 'Invalid VRRPv[23] checksum', 'Checksum ERROR from', 'Expected (mult|un)icast packet',
  'expected \\d+ VIPs but received \\d+', 'not present in MASTER advert', 'not a unicast peer', 'Unknown VRID',
  'Discarding bogus packet',
].join('|'), 'i');
