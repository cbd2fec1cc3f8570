/**
 * TCP_CHECK: a connection to connect_ip:connect_port must complete within connect_timeout
 * (keepalived check_tcp.c: connect, then close on success). The connection is closed at
 * once with a FIN, as keepalived's close() does.
 */
import { connect, type Socket } from 'node:net';
import type { Checker, TcpChecker } from '../model/types.js';
import type { ProbeContext, Probe } from './probe.js';
import { failed, passed, reasonOfError, type CheckOutcome } from './outcome.js';
import { sourceOptions } from './source-address.js';

/** Probe for `TCP_CHECK`. */
export class TcpProbe implements Probe {
  private c: TcpChecker;
  private readonly ctx: ProbeContext;
  /** Attempts in flight: each entry ends its attempt. */
  private readonly live = new Set<(o: CheckOutcome) => void>();
  private warned = false;

  constructor(checker: TcpChecker, ctx: ProbeContext) {
    this.c = checker;
    this.ctx = ctx;
  }

  run(): Promise<CheckOutcome> {
    const c = this.c;
    const clock = this.ctx.clock;
    if (c.bindIf && !c.bindTo && !this.warned) {
      this.warned = true;
      this.ctx.warn(`bind_if ${c.bindIf}: SO_BINDTODEVICE is not available; binding to the interface's address instead`, { checker: c.key });
    }
    const started = clock.now();
    return new Promise<CheckOutcome>((resolve) => {
      let done = false;
      let sock: Socket | null = null;
      const finish = (o: CheckOutcome) => {
        if (done) return;
        done = true;
        timer.cancel();
        this.live.delete(finish);
        sock?.destroy();
        resolve(o);
      };
      const timer = clock.setTimer(c.timing.connectTimeoutMs, () =>
        finish(failed('timeout', `no connection within ${c.timing.connectTimeoutMs} ms`, clock.now() - started)),
      );
      try {
        sock = connect({ host: c.connectIp, port: c.connectPort, ...sourceOptions(c) });
      } catch (err) {
        const r = reasonOfError(err);
        finish(failed(r.reason, r.detail, clock.now() - started));
        return;
      }
      this.live.add(finish);
      sock.once('connect', () => finish(passed(clock.now() - started)));
      sock.on('error', (err) => {
        const r = reasonOfError(err);
        finish(failed(r.reason, r.detail, clock.now() - started));
      });
    });
  }

  update(checker: Checker): void {
    if (checker.kind === 'tcp') this.c = checker;
  }

  close(): void {
    for (const finish of [...this.live]) finish(failed('error', 'checker stopped', 0));
  }
}
