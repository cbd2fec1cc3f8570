/**
 * An in-process double of a forwarding worker (ForwardingDeps.spawnWorker): the same
 * Pipeline the worker thread runs, driven by the same messages (src/forward/messages.ts),
 * writing the same shared counters, but with no sockets: a test feeds frames through
 * `frame()` and the double keeps what the pipeline would have sent. Messages are handled
 * on a microtask, as a thread would answer them asynchronously. `crash()` makes it die the
 * way a worker thread does (an 'error', then 'exit' 1).
 */
import { EventEmitter } from 'node:events';
import { A_TX, A_TX_MULTI, Pipeline, TUN_HEADROOM } from '../../../../src/forward/pipeline.js';
import type { FromWorker, ToWorker, WorkerHandle, WorkerInit } from '../../../../src/forward/messages.js';
import { statsRegion } from '../../../../src/forward/stats.js';

/** One double; `received` records every message it was posted. */
export class WorkerDouble extends EventEmitter implements WorkerHandle {
  readonly init: WorkerInit;
  readonly pl: Pipeline;
  readonly received: ToWorker[] = [];
  readonly buf = new Uint8Array(70000 + 16 * 2048 + 512 * 1024);
  /** Frames the pipeline sent: interface and bytes. */
  readonly sent: { ifSlot: number; bytes: Uint8Array }[] = [];
  dead = false;
  now = 1;

  constructor(init: WorkerInit, failStart = false) {
    super();
    this.init = init;
    // The worker's layout: headroom before each frame, a scratch area, a segment area.
    this.pl = new Pipeline({ capacity: Math.min(init.capacity, 4096), tickMs: init.tickMs, seed: init.seed, stats: statsRegion(init.stats, init.layout, init.index), headroom: TUN_HEADROOM, workerIndex: init.index, workers: init.workers });
    this.pl.setInterfaces(init.ifaces);
    this.pl.setScratch(70000, 70000 + 16 * 2048);
    this.pl.setSegArea(70000 + 16 * 2048, this.buf.length);
    queueMicrotask(() => {
      if (failStart) {
        // As worker.ts when opening its sockets fails: an 'error' message, then it ends.
        this.emit('message', { type: 'error', index: init.index, message: 'socket: injected failure' } satisfies FromWorker);
        this.die(1);
      } else {
        this.emit('message', { type: 'ready', index: init.index, ring: false, vnet: false } satisfies FromWorker);
      }
    });
  }

  postMessage(m: ToWorker): void {
    if (this.dead) throw new Error('worker is dead');
    this.received.push(m);
    queueMicrotask(() => this.handle(m));
  }

  async terminate(): Promise<number> {
    this.die(1);
    return 1;
  }

  /** Processes one frame received on interface ifSlot (as the worker's drain loop would). */
  frame(bytes: ArrayLike<number>, ifSlot: number, now = this.now): number {
    this.now = now;
    this.pl.resetScratch();
    this.buf.set(bytes as ArrayLike<number>, TUN_HEADROOM);
    const act = this.pl.process(this.buf, TUN_HEADROOM, bytes.length, false, ifSlot, now);
    if (act === A_TX) this.sent.push({ ifSlot: this.pl.outIf, bytes: this.buf.slice(this.pl.outOff, this.pl.outOff + this.pl.outLen) });
    if (act === A_TX_MULTI) {
      for (let i = 0; i < this.pl.outCount; i++) this.sent.push({ ifSlot: this.pl.outIf, bytes: this.buf.slice(this.pl.outOffs[i]!, this.pl.outOffs[i]! + this.pl.outLens[i]!) });
    }
    return act;
  }

  /** The worker's 100 ms housekeeping: expiry and the connection gauges. */
  tick(now = this.now): void {
    this.now = now;
    this.pl.advance(now);
    this.pl.publishGauges();
    if (this.pl.needNeighbour) {
      const requests = this.pl.takeNeighbourRequests();
      if (requests.length) this.emit('message', { type: 'neigh-request', index: this.init.index, requests } satisfies FromWorker);
    }
  }

  /** Dies as a crashed worker thread: 'error', then 'exit' 1. */
  crash(message = 'injected crash'): void {
    if (this.dead) return;
    this.emit('error', new Error(message));
    this.die(1);
  }

  private die(code: number): void {
    if (this.dead) return;
    this.dead = true;
    queueMicrotask(() => this.emit('exit', code));
  }

  private handle(m: ToWorker): void {
    if (this.dead) return;
    const pl = this.pl;
    const post = (r: FromWorker) => this.emit('message', r);
    switch (m.type) {
      case 'model':
        pl.applyModel(m.model, m.slots);
        if (pl.problems.length) post({ type: 'problems', index: this.init.index, problems: pl.problems });
        break;
      case 'claim': pl.setClaim(m.instance, m.vips, m.claimed); break;
      case 'health': pl.setRealHealth(m.service, m.real, m.health); break;
      case 'quorum': pl.setServiceQuorum(m.service, m.up); break;
      case 'neigh': pl.setNeighbour(m.address, m.mac); break;
      case 'route': pl.setRoute(m.address, m.route); break;
      case 'trace': pl.now = this.now; post({ type: 'trace', id: m.id, result: pl.trace(m.proto, m.src, m.sport, m.dst, m.dport) }); break;
      case 'conns': pl.now = this.now; post({ type: 'conns', id: m.id, rows: pl.listConns(m.limit), total: pl.conns.size, index: this.init.index }); break;
      case 'stop':
        post({ type: 'stopped', index: this.init.index });
        this.die(0);
        break;
    }
  }
}

/** A spawnWorker that makes doubles and keeps every one it made (in order); `failNext` makes the next starts fail. */
export function doubleSpawner(): { spawn: (init: WorkerInit) => WorkerHandle; made: WorkerDouble[]; live: () => WorkerDouble[]; failNext: number } {
  const made: WorkerDouble[] = [];
  const sp = {
    made,
    failNext: 0,
    spawn: (init: WorkerInit): WorkerHandle => {
      const fail = sp.failNext > 0;
      if (fail) sp.failNext--;
      const w = new WorkerDouble(init, fail);
      made.push(w);
      return w;
    },
    live: () => made.filter((w) => !w.dead).sort((a, b) => a.init.index - b.init.index),
  };
  return sp;
}
