/**
 * In-memory doubles of the I/O ports (src/io/ports.ts) for unit and integration tests.
 * They behave like the real adapters where behaviour matters to callers (idempotent
 * address add/del, link change callbacks, neighbour lookups) and record every call so a
 * test can assert on what the logic under test asked for. No sockets, no timers.
 */
import type { CoreVip, ScriptCommand, ScriptUser } from '../model/types.js';
import { canonicalIp, ipFamily } from '../lib/ip.js';
import type {
  AddressInfo,
  AddressSpec,
  AnnouncePort,
  CoreVipPort,
  LinkInfo,
  NeighbourInfo,
  NetlinkPort,
  ScriptPort,
  ScriptResult,
} from './ports.js';

// ───────────────────────────── netlink ─────────────────────────────

/** One recorded NetlinkPort call (mutations and resolutions; reads are not recorded). */
export type FakeNetlinkCall =
  | { readonly op: 'addAddress'; readonly spec: AddressSpec }
  | { readonly op: 'delAddress'; readonly spec: AddressSpec }
  | { readonly op: 'resolveNeighbour'; readonly ifname: string; readonly address: string };

/** A NetlinkPort held in memory: links you add and flip, addresses recorded, neighbours you set. */
export class FakeNetlink implements NetlinkPort {
  /** Every mutation asked for, in order. */
  readonly calls: FakeNetlinkCall[] = [];
  private readonly links = new Map<string, LinkInfo>();
  private readonly addrs: AddressInfo[] = [];
  private readonly neighs = new Map<string, NeighbourInfo>();
  private readonly linkSubs = new Set<(l: LinkInfo) => void>();
  private readonly neighSubs = new Set<(n: NeighbourInfo) => void>();
  private nextIndex = 1;
  private failures = new Map<string, Error>();
  closed = false;

  /**
   * Adds a link (up by default) and fires onLinkChange. The MAC defaults to a stable
   * locally administered address derived from the index.
   */
  addLink(name: string, init: Partial<Omit<LinkInfo, 'name'>> = {}): LinkInfo {
    const index = init.index ?? this.nextIndex++;
    const link: LinkInfo = {
      name,
      index,
      mac: init.mac ?? `02:00:00:00:${((index >> 8) & 255).toString(16).padStart(2, '0')}:${(index & 255).toString(16).padStart(2, '0')}`,
      adminUp: init.adminUp ?? true,
      operUp: init.operUp ?? true,
      mtu: init.mtu ?? 1500,
    };
    this.links.set(name, link);
    this.emitLink(link);
    return link;
  }

  /** Sets a link's operational (and optionally admin) state; fires onLinkChange when it changed. */
  setLinkUp(name: string, operUp: boolean, adminUp: boolean = operUp): void {
    const l = this.links.get(name);
    if (!l) throw new Error(`FakeNetlink: no link ${name}`);
    if (l.operUp === operUp && l.adminUp === adminUp) return;
    const n: LinkInfo = { ...l, operUp, adminUp };
    this.links.set(name, n);
    this.emitLink(n);
  }

  /** Removes a link: fires onLinkChange with operUp false, drops its addresses and neighbours. */
  removeLink(name: string): void {
    const l = this.links.get(name);
    if (!l) return;
    this.links.delete(name);
    for (let i = this.addrs.length - 1; i >= 0; i--) if (this.addrs[i]!.ifname === name) this.addrs.splice(i, 1);
    for (const [k, v] of this.neighs) if (v.ifname === name) this.neighs.delete(k);
    this.emitLink({ ...l, operUp: false, adminUp: false });
  }

  /** Sets (or replaces) a neighbour entry and fires onNeighbourChange. */
  setNeighbour(n: NeighbourInfo): void {
    const v: NeighbourInfo = { ...n, address: canonicalIp(n.address) ?? n.address, mac: n.mac.toLowerCase() };
    this.neighs.set(`${v.ifname}|${v.address}`, v);
    for (const fn of [...this.neighSubs]) fn(v);
  }

  /** Removes a neighbour entry; fires onNeighbourChange with state 'failed' and no MAC (as RtNetlink reports deletions). */
  removeNeighbour(ifname: string, address: string): void {
    const k = `${ifname}|${canonicalIp(address) ?? address}`;
    const v = this.neighs.get(k);
    if (!v) return;
    this.neighs.delete(k);
    for (const fn of [...this.neighSubs]) fn({ ...v, mac: '', state: 'failed' });
  }

  /** Makes the next call of `op` reject with err (once). */
  failNext(op: 'addAddress' | 'delAddress' | 'listLinks' | 'getLink' | 'listAddresses' | 'getNeighbour' | 'resolveNeighbour', err: Error): void {
    this.failures.set(op, err);
  }

  /** Addresses currently present (a copy). */
  get addresses(): AddressInfo[] {
    return [...this.addrs];
  }

  /** Number of live onLinkChange subscribers. */
  get linkSubscribers(): number {
    return this.linkSubs.size;
  }

  private takeFailure(op: string): void {
    const e = this.failures.get(op);
    if (e) {
      this.failures.delete(op);
      throw e;
    }
  }

  private emitLink(l: LinkInfo): void {
    for (const fn of [...this.linkSubs]) fn(l);
  }

  async listLinks(): Promise<LinkInfo[]> {
    this.takeFailure('listLinks');
    return [...this.links.values()];
  }

  async getLink(name: string): Promise<LinkInfo | null> {
    this.takeFailure('getLink');
    return this.links.get(name) ?? null;
  }

  onLinkChange(fn: (link: LinkInfo) => void): () => void {
    this.linkSubs.add(fn);
    return () => void this.linkSubs.delete(fn);
  }

  async listAddresses(ifname?: string): Promise<AddressInfo[]> {
    this.takeFailure('listAddresses');
    return this.addrs.filter((a) => ifname === undefined || a.ifname === ifname);
  }

  async addAddress(spec: AddressSpec): Promise<void> {
    this.calls.push({ op: 'addAddress', spec });
    this.takeFailure('addAddress');
    const address = canonicalIp(spec.address);
    const family = ipFamily(spec.address);
    if (!address || !family) throw new Error(`FakeNetlink: bad address ${spec.address}`);
    if (!this.links.has(spec.ifname)) throw new Error(`FakeNetlink: no link ${spec.ifname}`);
    if (this.addrs.some((a) => a.ifname === spec.ifname && a.address === address)) return;
    this.addrs.push({ ifname: spec.ifname, address, family, prefixLen: spec.prefixLen, label: spec.label ?? null });
  }

  async delAddress(spec: AddressSpec): Promise<void> {
    this.calls.push({ op: 'delAddress', spec });
    this.takeFailure('delAddress');
    const address = canonicalIp(spec.address) ?? spec.address;
    const i = this.addrs.findIndex((a) => a.ifname === spec.ifname && a.address === address);
    if (i >= 0) this.addrs.splice(i, 1);
  }

  async getNeighbour(ifname: string, address: string): Promise<NeighbourInfo | null> {
    this.takeFailure('getNeighbour');
    return this.neighs.get(`${ifname}|${canonicalIp(address) ?? address}`) ?? null;
  }

  async listNeighbours(ifname?: string): Promise<NeighbourInfo[]> {
    return [...this.neighs.values()].filter((n) => ifname === undefined || n.ifname === ifname);
  }

  async resolveNeighbour(ifname: string, address: string): Promise<void> {
    this.calls.push({ op: 'resolveNeighbour', ifname, address });
    this.takeFailure('resolveNeighbour');
  }

  onNeighbourChange(fn: (n: NeighbourInfo) => void): () => void {
    this.neighSubs.add(fn);
    return () => void this.neighSubs.delete(fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.linkSubs.clear();
    this.neighSubs.clear();
  }
}

// ───────────────────────────── announce ─────────────────────────────

/** One recorded announce() call. */
export interface FakeAnnounceCall {
  readonly ifname: string;
  readonly addresses: readonly string[];
  readonly srcMac: string | undefined;
}

/** An AnnouncePort that records calls; interfaces listed in `failing` count every address as failed. */
export class FakeAnnounce implements AnnouncePort {
  readonly calls: FakeAnnounceCall[] = [];
  readonly failing = new Set<string>();

  announce(ifname: string, addresses: readonly string[], srcMac?: string): { sent: number; failed: number } {
    this.calls.push({ ifname, addresses: [...addresses], srcMac });
    return this.failing.has(ifname) ? { sent: 0, failed: addresses.length } : { sent: addresses.length, failed: 0 };
  }

  /** Total frames announced for one address (over all calls). */
  countFor(address: string): number {
    let n = 0;
    for (const c of this.calls) for (const a of c.addresses) if (a === address) n++;
    return n;
  }
}

// ───────────────────────────── core VIPs ─────────────────────────────

/** One recorded CoreVipPort call. */
export interface FakeCoreVipCall {
  readonly op: 'claim' | 'release';
  readonly instance: string | null;
  readonly vips: readonly CoreVip[];
}

/** A CoreVipPort that records calls and keeps the set of claimed addresses. */
export class FakeCoreVip implements CoreVipPort {
  readonly calls: FakeCoreVipCall[] = [];
  /** address → owning instance (null = claimed at start). */
  readonly claimed = new Map<string, string | null>();

  claim(instance: string | null, vips: readonly CoreVip[]): void {
    this.calls.push({ op: 'claim', instance, vips: [...vips] });
    for (const v of vips) this.claimed.set(v.address, instance);
  }

  release(instance: string | null, vips: readonly CoreVip[]): void {
    this.calls.push({ op: 'release', instance, vips: [...vips] });
    for (const v of vips) this.claimed.delete(v.address);
  }
}

// ───────────────────────────── scripts ─────────────────────────────

/** Options a ScriptPort.run() call received. */
export interface FakeScriptOpts {
  readonly timeoutMs: number;
  readonly user?: ScriptUser | null;
  readonly extraArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** One recorded script run. */
export interface FakeScriptCall {
  readonly cmd: ScriptCommand;
  /** argv as it would be executed: cmd.argv followed by extraArgs. */
  readonly argv: readonly string[];
  readonly opts: FakeScriptOpts;
}

/** A scripted outcome: a partial result (merged over a clean exit 0) or a function computing one. */
export type FakeScriptOutcome =
  | Partial<ScriptResult>
  | ((call: FakeScriptCall) => Partial<ScriptResult> | Promise<Partial<ScriptResult>>);

/** Builds a full ScriptResult from a partial one (default: exit 0, 0 ms, no output). */
export function scriptResult(p: Partial<ScriptResult> = {}): ScriptResult {
  return { exitCode: 0, signal: null, timedOut: false, durationMs: 0, output: '', spawnError: null, ...p };
}

/**
 * A ScriptPort with results scripted per argv[0]. `script(argv0, ...outcomes)` queues
 * outcomes consumed in order; the last one repeats. Unscripted programs exit 0, or fail
 * with spawnError 'ENOENT' when `strict` is set. Every call is recorded.
 */
export class FakeScripts implements ScriptPort {
  readonly calls: FakeScriptCall[] = [];
  strict = false;
  private readonly queues = new Map<string, FakeScriptOutcome[]>();

  /** Queues outcomes for a program (replacing any earlier queue). */
  script(argv0: string, ...outcomes: FakeScriptOutcome[]): this {
    this.queues.set(argv0, outcomes.length ? outcomes : [{}]);
    return this;
  }

  /** Calls made to one program. */
  callsOf(argv0: string): FakeScriptCall[] {
    return this.calls.filter((c) => c.cmd.argv[0] === argv0);
  }

  async run(cmd: ScriptCommand, opts: FakeScriptOpts): Promise<ScriptResult> {
    const call: FakeScriptCall = { cmd, argv: [...cmd.argv, ...(opts.extraArgs ?? [])], opts };
    this.calls.push(call);
    const argv0 = cmd.argv[0];
    if (argv0 === undefined) return scriptResult({ exitCode: null, spawnError: 'empty command' });
    const q = this.queues.get(argv0);
    if (!q) return this.strict ? scriptResult({ exitCode: null, spawnError: 'ENOENT' }) : scriptResult();
    const o = q.length > 1 ? q.shift()! : q[0]!;
    return scriptResult(typeof o === 'function' ? await o(call) : o);
  }
}
