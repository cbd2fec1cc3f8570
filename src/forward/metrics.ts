/**
 * Prometheus series of the forwarding core, read at scrape time from the `lvs` result
 * (counters summed over workers from the shared buffer): per IPVS service and per real server
 * (the sorry server too, as `real="sorry:ADDR:PORT"`) connections, packets and bytes in/out,
 * connection gauges and weights, and the pipeline's counters by outcome (bad-packet reasons
 * included). The `_total` series read the monotonic totals (`totals`), not the listing's
 * counters: `lvsadm -Z` zeroes the listing as `ipvsadm -Z` does, and a Prometheus counter
 * must never go down. The lead serves the registry.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { LvsResult } from './subsystem.js';

/** Global counters that count events, not frames (worker.ts). */
const IO_EVENTS = new Set(['wakeups', 'rx_batches']);

/**
 * Registers the forwarding series on `registry`; `getStats` is called once per scrape
 * (e.g. `() => forwarding.lvs()`). Returns a function that unregisters them.
 */
export function registerForwardingMetrics(registry: Registry, getStats: () => Promise<LvsResult> | LvsResult): () => void {
  let snapshot: Promise<LvsResult | null> | null = null;
  // One lvs() per scrape, shared by every series' collect().
  const stats = (): Promise<LvsResult | null> => {
    if (!snapshot) {
      snapshot = Promise.resolve().then(getStats).catch(() => null);
      const done = () => { snapshot = null; };
      void snapshot.then(() => setImmediate(done));
    }
    return snapshot;
  };
  const names: string[] = [];
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter<string>, s: LvsResult) => void) => {
    names.push(name);
    return new Counter({
      name, help, labelNames, registers: [registry],
      async collect() {
        const s = await stats();
        this.reset();
        if (s) fill(this, s);
      },
    });
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge<string>, s: LvsResult) => void) => {
    names.push(name);
    return new Gauge({
      name, help, labelNames, registers: [registry],
      async collect() {
        const s = await stats();
        this.reset();
        if (s) fill(this, s);
      },
    });
  };
  counter('lvsd_lvs_service_connections_total', 'Connections scheduled per virtual service', ['service'], (c, s) => {
    for (const v of s.services) c.inc({ service: v.key }, v.totals.conns);
  });
  counter('lvsd_lvs_service_packets_total', 'Packets per virtual service and direction', ['service', 'direction'], (c, s) => {
    for (const v of s.services) {
      c.inc({ service: v.key, direction: 'in' }, v.totals.inpkts);
      c.inc({ service: v.key, direction: 'out' }, v.totals.outpkts);
    }
  });
  counter('lvsd_lvs_service_bytes_total', 'Bytes (IP length) per virtual service and direction', ['service', 'direction'], (c, s) => {
    for (const v of s.services) {
      c.inc({ service: v.key, direction: 'in' }, v.totals.inbytes);
      c.inc({ service: v.key, direction: 'out' }, v.totals.outbytes);
    }
  });
  counter('lvsd_lvs_real_connections_total', 'Connections scheduled per real server', ['service', 'real'], (c, s) => {
    for (const v of s.services) for (const r of v.reals) c.inc({ service: v.key, real: r.key }, r.totals.conns);
  });
  counter('lvsd_lvs_real_packets_total', 'Packets per real server and direction', ['service', 'real', 'direction'], (c, s) => {
    for (const v of s.services) for (const r of v.reals) {
      c.inc({ service: v.key, real: r.key, direction: 'in' }, r.totals.inpkts);
      c.inc({ service: v.key, real: r.key, direction: 'out' }, r.totals.outpkts);
    }
  });
  counter('lvsd_lvs_real_bytes_total', 'Bytes per real server and direction', ['service', 'real', 'direction'], (c, s) => {
    for (const v of s.services) for (const r of v.reals) {
      c.inc({ service: v.key, real: r.key, direction: 'in' }, r.totals.inbytes);
      c.inc({ service: v.key, real: r.key, direction: 'out' }, r.totals.outbytes);
    }
  });
  gauge('lvsd_lvs_real_connections', 'Current connections per real server by IPVS state class', ['service', 'real', 'state'], (g, s) => {
    for (const v of s.services) for (const r of v.reals) {
      g.set({ service: v.key, real: r.key, state: 'active' }, r.activeConns);
      g.set({ service: v.key, real: r.key, state: 'inactive' }, r.inactiveConns);
      g.set({ service: v.key, real: r.key, state: 'persistent' }, r.persistConns);
    }
  });
  gauge('lvsd_lvs_real_weight', 'Effective weight per real server (0 = quiesced or down)', ['service', 'real'], (g, s) => {
    for (const v of s.services) for (const r of v.reals) g.set({ service: v.key, real: r.key }, r.weight);
  });
  counter('lvsd_forward_frames_total', 'Frames seen by the forwarding core, by outcome or bad-packet reason', ['outcome'], (c, s) => {
    for (const [k, v] of Object.entries(s.counters)) if (!IO_EVENTS.has(k)) c.inc({ outcome: k }, v);
  });
  counter('lvsd_forward_io_events_total', 'Data-plane wake-ups from epoll and receive calls that returned frames (frames per wake-up = frames / wakeups)', ['event'], (c, s) => {
    for (const k of IO_EVENTS) c.inc({ event: k }, s.counters[k] ?? 0);
  });
  return () => {
    for (const n of names) registry.removeSingleMetric(n);
  };
}
