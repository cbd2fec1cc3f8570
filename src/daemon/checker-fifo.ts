/**
 * The checker's lines on the notify FIFOs (`notify_fifo` and `lvs_notify_fifo`), in
 * keepalived's format (keepalived/check/ipwrapper.c `notify_fifo_rs`, `notify_fifo_vs`):
 *
 *   RS [198.18.1.11]:tcp:80 [198.18.0.10]:tcp:80 UP
 *   VS [198.18.0.10]:tcp:80 DOWN
 *
 * A real server is `[ADDR]:PROTO:PORT` (keepalived `FMT_RS`, inet_sockaddrtotrio with the
 * service's protocol: `none` for a firewall-mark service, whose protocol keepalived clears);
 * a service is the same for an address, `FWM N` for a firewall mark, `[GROUP]:0` for a
 * virtual_server_group (keepalived `format_vs`). Lines follow the health events the check
 * subsystem emits (real.up, real.down, service.quorum), so this lives outside src/check.
 * A quorum state reported at start is not a change and writes nothing, except a service
 * that starts below quorum with a sorry server (keepalived `update_quorum_state(vs, init)`).
 */
import type { EventBus } from '../events/bus.js';
import type { Model, RealServer, VirtualServer } from '../model/types.js';
import type { ChangeSet } from '../model/changes.js';
import type { NotifyFifoPort } from '../vrrp/notify.js';
import type { Subsystem } from './subsystem.js';

/** keepalived inet_sockaddrtotrio: `[ADDR]:PROTO:PORT` (IPv6 unbracketed inside the brackets). */
function trio(address: string, proto: string, port: number): string {
  return `[${address}]:${proto}:${port}`;
}

/** The protocol word keepalived writes for a service's addresses. */
function protoWord(vs: VirtualServer, model: Model): string {
  if (vs.match.kind === 'fwmark') return 'none';
  if (vs.match.kind === 'group') {
    const g = model.virtualServerGroups[vs.match.group];
    if (g && g.entries.length > 0 && g.entries.every((e) => e.kind === 'fwmark')) return 'none';
  }
  return vs.protocol;
}

/** keepalived format_vs. */
export function fifoServiceName(vs: VirtualServer, model: Model): string {
  const m = vs.match;
  if (m.kind === 'fwmark') return `FWM ${m.fwmark}`;
  if (m.kind === 'group') return `[${m.group}]:0`;
  return trio(m.address, vs.protocol, m.port);
}

/** keepalived format_rs. */
export function fifoRealName(rs: RealServer, vs: VirtualServer, model: Model): string {
  return trio(rs.address, protoWord(vs, model), rs.port);
}

/** `RS <real> <service> UP|DOWN\n`. */
export function fifoRealLine(rs: RealServer, vs: VirtualServer, model: Model, up: boolean): string {
  return `RS ${fifoRealName(rs, vs, model)} ${fifoServiceName(vs, model)} ${up ? 'UP' : 'DOWN'}\n`;
}

/** `VS <service> UP|DOWN\n`. */
export function fifoServiceLine(vs: VirtualServer, model: Model, up: boolean): string {
  return `VS ${fifoServiceName(vs, model)} ${up ? 'UP' : 'DOWN'}\n`;
}

/** Writes the checker's FIFO lines from health events; follows reloads. */
export class CheckerNotifyFifo implements Subsystem {
  readonly name = 'checker-fifo';
  private model: Model | null = null;
  private paths: string[] = [];
  private offs: Array<() => void> = [];
  /** Lines that could not be written (no reader with a full pipe, a bad path). */
  failures = 0;

  private readonly bus: EventBus;
  private readonly fifo: NotifyFifoPort;

  constructor(bus: EventBus, fifo: NotifyFifoPort) {
    this.bus = bus;
    this.fifo = fifo;
  }

  async start(model: Model): Promise<void> {
    this.use(model);
    const real = (service: string, realKey: string, up: boolean) => {
      const m = this.model;
      const vs = m?.virtualServers[service];
      const rs = vs?.realServers[realKey];
      if (m && vs && rs) this.write(fifoRealLine(rs, vs, m, up));
    };
    this.offs = [
      this.bus.on('real.up', (e) => real(e.service, e.real, true)),
      this.bus.on('real.down', (e) => real(e.service, e.real, false)),
      this.bus.on('service.quorum', (e) => {
        const m = this.model;
        const vs = m?.virtualServers[e.service];
        if (!m || !vs) return;
        if (e.initial && (e.up || !vs.sorryServer)) return;
        this.write(fifoServiceLine(vs, m, e.up));
      }),
    ];
    // FIFOs are created here, at start and reload, never while writing a line (src/vrrp/notify-fifo.ts).
    await this.fifo.prepare?.(this.paths);
  }

  async apply(next: Model, _changes: ChangeSet): Promise<void> {
    this.use(next);
    await this.fifo.prepare?.(this.paths);
  }

  async stop(): Promise<void> {
    for (const off of this.offs) off();
    this.offs = [];
    this.fifo.close();
  }

  private use(model: Model): void {
    this.model = model;
    // keepalived writes these lines to both FIFOs; one write per distinct path.
    this.paths = [...new Set([model.global.notifyFifo, model.global.lvsNotifyFifo].filter((p): p is string => !!p))];
  }

  private write(line: string): void {
    for (const p of this.paths) if (!this.fifo.write(p, line)) this.failures++;
  }
}
