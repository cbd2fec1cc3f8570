/**
 * Connection sync between the two directors (keepalived's `lvs_sync_daemon`, IPVS's sync
 * daemons), on the main thread: the roles, the messages, the sockets, the counters.
 *
 * Roles, as keepalived drives IPVS (vrrp.c vrrp_state_become_master → ipvs_syncd_master():
 * stop the backup daemon, start the master; vrrp_state_leave_master → ipvs_syncd_backup():
 * stop the master, start the backup; vrrp_init_state starts the backup daemon for an
 * instance that starts in BACKUP): the director whose configured instance is MASTER runs the
 * master role, every other state (INIT, BACKUP, FAULT) the backup role. Without an instance
 * (`lvs_sync_daemon IFNAME`), keepalived's checker starts both at once (IPVS_MASTER_BACKUP)
 * with syncid 0, and so does lvsd.
 *
 * Master: the workers record entries into their rings (src/sync/worker-sync.ts); every
 * IPVS_SYNC_SEND_DELAY (20 ms) the rings are drained into messages (src/sync/batcher.ts)
 * and the full ones sent; a partial one goes when it is IPVS_SYNC_FLUSH_TIME (2 s) old.
 * Backup: each received message is decoded and checked (src/sync/codec.ts, bad ones counted
 * by reason and dropped), and each entry handed to the worker the fanout program sends
 * that client to (fanoutWorker()), templates before connections.
 *
 * Every role change is a `sync.role` log line; failures are `sync.error` lines, and the
 * daemon goes on (forwarding and VRRP do not depend on sync).
 */
import type { Subsystem } from '../daemon/subsystem.js';
import type { ChangeSet } from '../model/changes.js';
import type { LvsSyncDaemon, Model } from '../model/types.js';
import type { EventBus } from '../events/bus.js';
import type { SyncRoleName, VrrpState } from '../events/types.js';
import type { CommandRegistry } from '../control/registry.js';
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.js';
import { deepEqual } from '../lib/deep-equal.js';
import { fanoutSpec, fanoutWorker, type FanoutSpec } from '../forward/fanout-program.js';
import { MessageBuilder, SYNC_FLUSH_TIME_MS } from './batcher.js';
import { createSyncEntry, decodeMessage, syncMaxLen, IP_VS_CONN_F_TEMPLATE, SYNC_DROP_REASONS, type SyncDropReason } from './codec.js';
import { SyncRing, WORKER_SYNC_COUNTERS, DEFAULT_RING_SLOTS } from './ring.js';
import { DEFAULT_SYNC_RULES, type SyncRules } from './rules.js';
import type { SyncEndpoint, SyncReceiver, SyncSender, SyncSocketPort } from './ports.js';

/** IPVS_SYNC_SEND_DELAY (HZ / 50): how often the rings are drained. */
export const SYNC_SEND_DELAY_MS = 20;

/** What sync needs of the forwarding subsystem (ForwardingSubsystem implements it). */
export interface SyncForwardPort {
  setSync(s: { readonly rings: readonly SharedArrayBuffer[]; readonly master: boolean; readonly rules: SyncRules } | null): void;
  postSyncEntries(index: number, bytes: Uint8Array): boolean;
  readonly workerCount: number;
  readonly currentModel: Model | null;
}

/** What the composition root gives the subsystem. */
export interface SyncDeps {
  readonly bus: EventBus;
  readonly registry: CommandRegistry;
  readonly forward: SyncForwardPort;
  readonly sockets: SyncSocketPort;
  readonly clock?: Clock;
  /** sync_threshold (default 3 50, the kernel's). */
  readonly rules?: SyncRules;
  /** Ring slots per worker (default DEFAULT_RING_SLOTS). */
  readonly ringSlots?: number;
}

/** Main-thread counters (stable names: `lvsadm sync`, metrics, docs/sync.md). */
export interface SyncCounters {
  messagesSent: number;
  entriesSent: number;
  templatesSent: number;
  bytesSent: number;
  sendErrors: number;
  /** Entries recorded but dropped unsent because the master role stopped. */
  entriesDiscarded: number;
  messagesReceived: number;
  bytesReceived: number;
  entriesReceived: number;
  templatesReceived: number;
  /** Entries a worker could not be given (it was restarting). */
  entriesUndelivered: number;
}

/** The `sync` control command's answer. */
export interface SyncStatus {
  configured: boolean;
  role: SyncRoleName;
  instance: string | null;
  vrrpState: VrrpState | null;
  interface: string | null;
  group: string | null;
  port: number | null;
  ttl: number | null;
  syncId: number | null;
  maxLen: { master: number; backup: number } | null;
  rules: SyncRules;
  counters: SyncCounters;
  /** Messages or entries dropped on receipt, by reason (codec.ts SyncDropReason). */
  dropped: Record<SyncDropReason, number>;
  /** The workers' counters summed (ring.ts WORKER_SYNC_COUNTERS), and entries lost to a full ring. */
  workers: Record<string, number>;
  /** Entries waiting in the message being built. */
  pendingEntries: number;
}

const zeroCounters = (): SyncCounters => ({
  messagesSent: 0, entriesSent: 0, templatesSent: 0, bytesSent: 0, sendErrors: 0, entriesDiscarded: 0,
  messagesReceived: 0, bytesReceived: 0, entriesReceived: 0, templatesReceived: 0, entriesUndelivered: 0,
});

/** The connection sync subsystem. */
export class SyncSubsystem implements Subsystem {
  readonly name = 'sync';
  private readonly deps: SyncDeps;
  private readonly clock: Clock;
  private readonly rules: SyncRules;
  private cfg: LvsSyncDaemon | null = null;
  private role: SyncRoleName = 'off';
  private readonly vrrp = new Map<string, VrrpState>();
  private rings: SyncRing[] = [];
  private sender: SyncSender | null = null;
  private receiver: SyncReceiver | null = null;
  private builder: MessageBuilder | null = null;
  private timer: TimerHandle | null = null;
  private maxLen = { master: 1472, backup: 1472 };
  private spec: { model: Model; spec: FanoutSpec } | null = null;
  private readonly scratch = createSyncEntry();
  private chain: Promise<void> = Promise.resolve();
  private off: (() => void) | null = null;
  private readonly counters: SyncCounters = zeroCounters();
  private readonly dropped = Object.fromEntries(SYNC_DROP_REASONS.map((r) => [r, 0])) as Record<SyncDropReason, number>;
  /** Worker counters of rings that were replaced (a resize), so totals never go back. */
  private readonly retired = new Float64Array(32);
  private retiredRingFull = 0;

  constructor(deps: SyncDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
    this.rules = deps.rules ?? DEFAULT_SYNC_RULES;
  }

  // ───────────────────────────── Subsystem ─────────────────────────────

  async start(model: Model): Promise<void> {
    this.off = this.deps.bus.on('vrrp.transition', (e) => {
      this.vrrp.set(e.instance, e.to);
      if (this.cfg && e.instance === this.cfg.instance) this.enqueue(() => this.toRole(this.wantRole(), 'vrrp'));
    });
    this.registerCommand();
    this.cfg = model.global.lvsSyncDaemon;
    this.enqueue(async () => {
      this.resizeRings();
      await this.toRole(this.wantRole(), 'startup');
    });
    await this.chain;
  }

  async apply(next: Model, _changes: ChangeSet): Promise<void> {
    const cfg = next.global.lvsSyncDaemon;
    this.enqueue(async () => {
      if (!deepEqual(cfg, this.cfg)) {
        await this.toRole('off', 'reload');
        this.cfg = cfg;
      }
      // A data-plane restart may have changed the number of workers.
      if (this.resizeRings() || this.cfg) this.pushWorkerState();
      await this.toRole(this.wantRole(), 'reload');
    });
    await this.chain;
  }

  async stop(_reason: string): Promise<void> {
    this.off?.();
    this.off = null;
    this.enqueue(() => this.toRole('off', 'shutdown'));
    await this.chain;
    this.deps.forward.setSync(null);
    this.deps.registry.unregister('sync');
  }

  /** Resolves when queued role changes are done (tests). */
  settled(): Promise<void> {
    return this.chain;
  }

  // ───────────────────────────── roles ─────────────────────────────

  private enqueue(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((e) => this.error('backup', e instanceof Error ? e.message : String(e)));
  }

  private wantRole(): SyncRoleName {
    const c = this.cfg;
    if (!c) return 'off';
    if (c.instance === null) return 'master+backup';
    return this.vrrp.get(c.instance) === 'MASTER' ? 'master' : 'backup';
  }

  private async toRole(to: SyncRoleName, reason: 'startup' | 'vrrp' | 'reload' | 'shutdown'): Promise<void> {
    const from = this.role;
    if (to === from) return;
    const wasMaster = from === 'master' || from === 'master+backup';
    const wasBackup = from === 'backup' || from === 'master+backup';
    const master = to === 'master' || to === 'master+backup';
    const backup = to === 'backup' || to === 'master+backup';
    const c = this.cfg;
    let discarded = 0;
    // ipvs_syncd_master/_backup: stop the other daemon first, then start this one.
    if (wasMaster && !master) discarded = await this.stopMaster();
    if (wasBackup && !backup) await this.stopBackup();
    this.role = to;
    if (c && backup && !wasBackup) await this.startBackup(c);
    if (c && master && !wasMaster) await this.startMaster(c);
    this.pushWorkerState();
    const ep = c ?? null;
    this.deps.bus.emit({
      type: 'sync.role', from, to, instance: ep?.instance ?? null, vrrpState: ep?.instance ? this.vrrp.get(ep.instance) ?? null : null,
      reason, interface: ep?.interface ?? '', group: ep?.group ?? '', port: ep?.port ?? 0, syncId: ep?.syncId ?? 0, discarded,
    });
  }

  private endpoint(c: LvsSyncDaemon): SyncEndpoint {
    return { interface: c.interface, family: c.family, group: c.group, port: c.port, ttl: c.ttl };
  }

  private async startMaster(c: LvsSyncDaemon): Promise<void> {
    const fam = c.family === 'ipv6' ? 6 : 4;
    this.maxLen.master = syncMaxLen('master', fam, 1500, c.maxLen);
    this.builder = new MessageBuilder(c.syncId, this.maxLen.master);
    try {
      this.sender = await this.deps.sockets.openSender(this.endpoint(c), (e) => {
        this.counters.sendErrors++;
        this.error('master', `send: ${e.message}`);
      });
    } catch (e) {
      this.error('master', `cannot open the sending socket on ${c.interface}: ${e instanceof Error ? e.message : String(e)}`);
      this.sender = null;
    }
    for (const r of this.rings) r.drain(() => {}); // nothing older than this role
    this.armTimer();
  }

  private async stopMaster(): Promise<number> {
    this.timer?.cancel();
    this.timer = null;
    // stop_sync_thread(MASTER): the queue and the current buffer are freed, not sent.
    let n = this.builder?.discard() ?? 0;
    for (const r of this.rings) n += r.drain(() => {});
    this.builder = null;
    this.counters.entriesDiscarded += n;
    const s = this.sender;
    this.sender = null;
    await s?.close().catch(() => {});
    return n;
  }

  private async startBackup(c: LvsSyncDaemon): Promise<void> {
    const fam = c.family === 'ipv6' ? 6 : 4;
    const mtu = (await this.deps.sockets.interfaceMtu(c.interface).catch(() => null)) ?? 1500;
    this.maxLen.backup = syncMaxLen('backup', fam, mtu, c.maxLen);
    try {
      this.receiver = await this.deps.sockets.openReceiver(this.endpoint(c), (m) => this.onMessage(m),
        (e) => this.error('backup', `receive: ${e.message}`));
    } catch (e) {
      this.error('backup', `cannot open the receiving socket on ${c.interface}: ${e instanceof Error ? e.message : String(e)}`);
      this.receiver = null;
    }
  }

  private async stopBackup(): Promise<void> {
    const r = this.receiver;
    this.receiver = null;
    await r?.close().catch(() => {});
  }

  /** One ring per worker; true when they were (re)made. */
  private resizeRings(): boolean {
    const n = this.cfg ? Math.max(1, this.deps.forward.workerCount) : 0;
    if (this.rings.length === n) return false;
    for (const r of this.rings) {
      for (let i = 0; i < r.counters.length; i++) this.retired[i]! += r.counters[i]!;
      this.retiredRingFull += r.dropped;
    }
    this.rings = Array.from({ length: n }, () => SyncRing.create(this.deps.ringSlots ?? DEFAULT_RING_SLOTS));
    return true;
  }

  private pushWorkerState(): void {
    if (!this.cfg) {
      this.deps.forward.setSync(null);
      return;
    }
    const master = this.role === 'master' || this.role === 'master+backup';
    this.deps.forward.setSync({ rings: this.rings.map((r) => r.sab), master, rules: this.rules });
  }

  // ───────────────────────────── master: rings → messages ─────────────────────────────

  private armTimer(): void {
    this.timer = this.clock.setTimer(SYNC_SEND_DELAY_MS, () => {
      this.timer = null;
      if (!this.builder) return;
      this.pump();
      this.armTimer();
    });
  }

  /** Drains every ring into messages and sends the full ones, then a partial one that is 2 s old. */
  pump(): void {
    const b = this.builder;
    if (!b) return;
    const now = this.clock.now();
    for (const ring of this.rings) {
      ring.drain((bytes, off, len) => {
        const done = b.add(bytes, off, len, now);
        this.counters.entriesSent++;
        // flags: bytes 4..7 of the entry, big-endian (IP_VS_CONN_F_TEMPLATE is in the low 16 bits).
        if (((bytes[off + 6]! << 8) | bytes[off + 7]!) & IP_VS_CONN_F_TEMPLATE) this.counters.templatesSent++;
        if (done) this.send(done);
      });
    }
    const old = b.takeIfOlder(now, SYNC_FLUSH_TIME_MS);
    if (old) this.send(old);
  }

  private send(msg: Uint8Array): void {
    if (!this.sender) return;
    this.counters.messagesSent++;
    this.counters.bytesSent += msg.byteLength;
    this.sender.send(msg);
  }

  // ───────────────────────────── backup: messages → workers ─────────────────────────────

  /** A message from the peer (`ip_vs_process_message`). */
  onMessage(raw: Uint8Array): void {
    const c = this.cfg;
    if (!c || !(this.role === 'backup' || this.role === 'master+backup')) return;
    this.counters.messagesReceived++;
    this.counters.bytesReceived += raw.byteLength;
    // The kernel reads at most sync_maxlen bytes: a longer message is cut, and then its size is bogus.
    const msg = raw.byteLength > this.maxLen.backup ? raw.subarray(0, this.maxLen.backup) : raw;
    const n = Math.max(1, this.deps.forward.workerCount);
    const spec = n > 1 ? this.fanout() : null;
    const tmpl: Uint8Array[][] = Array.from({ length: n }, () => []);
    const conns: Uint8Array[][] = Array.from({ length: n }, () => []);
    const r = decodeMessage(msg, c.syncId, this.scratch, (e, start, end) => {
      this.counters.entriesReceived++;
      const isTmpl = (e.flags & IP_VS_CONN_F_TEMPLATE) !== 0;
      if (isTmpl) this.counters.templatesReceived++;
      const w = spec ? fanoutWorker(spec, e.fam, e.fam === 4 ? e.caddr.subarray(0, 1) : e.caddr, n) : 0;
      (isTmpl ? tmpl : conns)[w]!.push(msg.subarray(start, end));
    });
    if (r.abort) this.dropped[r.abort]++;
    for (const d of r.dropped) this.dropped[d]++;
    for (let w = 0; w < n; w++) {
      const parts = [...tmpl[w]!, ...conns[w]!];
      if (parts.length === 0) continue;
      const bytes = new Uint8Array(parts.reduce((s, p) => s + ((p.byteLength + 3) & ~3), 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += (p.byteLength + 3) & ~3;
      }
      if (!this.deps.forward.postSyncEntries(w, bytes)) this.counters.entriesUndelivered += parts.length;
    }
  }

  private fanout(): FanoutSpec | null {
    const m = this.deps.forward.currentModel;
    if (!m) return null;
    if (!this.spec || this.spec.model !== m) this.spec = { model: m, spec: fanoutSpec(m) };
    return this.spec.spec;
  }

  // ───────────────────────────── status ─────────────────────────────

  private error(role: 'master' | 'backup', message: string): void {
    this.deps.bus.emit({ type: 'sync.error', role, message });
  }

  /** Roles, settings and counters (the `sync` control command, metrics). */
  status(): SyncStatus {
    const c = this.cfg;
    const workers: Record<string, number> = {};
    WORKER_SYNC_COUNTERS.forEach((name, i) => {
      workers[name] = this.retired[i]! + this.rings.reduce((s, r) => s + r.counters[i]!, 0);
    });
    workers.ring_full = this.retiredRingFull + this.rings.reduce((s, r) => s + r.dropped, 0);
    return {
      configured: c !== null,
      role: this.role,
      instance: c?.instance ?? null,
      vrrpState: c?.instance ? this.vrrp.get(c.instance) ?? null : null,
      interface: c?.interface ?? null,
      group: c?.group ?? null,
      port: c?.port ?? null,
      ttl: c?.ttl ?? null,
      syncId: c?.syncId ?? null,
      maxLen: c ? { ...this.maxLen } : null,
      rules: this.rules,
      counters: { ...this.counters },
      dropped: { ...this.dropped },
      workers,
      pendingEntries: this.builder?.pendingEntries ?? 0,
    };
  }

  private registerCommand(): void {
    if (this.deps.registry.get('sync')) return;
    this.deps.registry.register('sync', {
      describe: 'connection sync with the peer director: role, group, counters (sent, received, dropped by reason, applied)',
      handler: async () => this.status(),
    });
  }
}
