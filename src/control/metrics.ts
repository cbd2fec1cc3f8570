/**
 * Prometheus metrics (prom-client) served over HTTP on `metrics_listen`. Daemon-level
 * series come from the event bus here; the forwarding core and other areas register their
 * own collectors on the same registry.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventBus } from '../events/bus.js';
import type { VrrpStatus } from '../vrrp/status.js';

const STATE_VALUE = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 4 } as const;

/** Creates the registry with process metrics and the event-derived series. */
export function createMetricsRegistry(bus: EventBus): { registry: Registry; detach: () => void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'lvsd_' });
  const transitions = new Counter({
    name: 'lvsd_vrrp_transitions_total', help: 'VRRP state transitions', labelNames: ['instance', 'to', 'reason'], registers: [registry],
  });
  const vrrpState = new Gauge({
    name: 'lvsd_vrrp_state', help: 'VRRP state (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 4 STOP)', labelNames: ['instance'], registers: [registry],
  });
  const realUp = new Gauge({
    name: 'lvsd_real_server_up', help: 'Real server health (1 up, 0 down)', labelNames: ['service', 'real'], registers: [registry],
  });
  const realChanges = new Counter({
    name: 'lvsd_real_server_transitions_total', help: 'Real server up/down changes', labelNames: ['service', 'real', 'to'], registers: [registry],
  });
  const quorum = new Gauge({
    name: 'lvsd_service_quorum_up', help: 'Virtual service quorum (1 up, 0 lost)', labelNames: ['service'], registers: [registry],
  });
  const reloads = new Counter({
    name: 'lvsd_config_reloads_total', help: 'Config loads by outcome', labelNames: ['outcome'], registers: [registry],
  });
  const offs = [
    bus.on('vrrp.transition', (e) => {
      transitions.inc({ instance: e.instance, to: e.to, reason: e.reason });
      vrrpState.set({ instance: e.instance }, STATE_VALUE[e.to]);
    }),
    bus.on('real.up', (e) => { realUp.set({ service: e.service, real: e.real }, 1); realChanges.inc({ service: e.service, real: e.real, to: 'up' }); }),
    bus.on('real.down', (e) => { realUp.set({ service: e.service, real: e.real }, 0); realChanges.inc({ service: e.service, real: e.real, to: 'down' }); }),
    bus.on('service.quorum', (e) => quorum.set({ service: e.service }, e.up ? 1 : 0)),
    bus.on('config.applied', () => reloads.inc({ outcome: 'applied' })),
    bus.on('config.rejected', () => reloads.inc({ outcome: 'rejected' })),
  ];
  return { registry, detach: () => offs.forEach((f) => f()) };
}

/** Serves GET /metrics on address:port; resolves once listening. */
export async function serveMetrics(registry: Registry, address: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => { server.off('error', reject); resolve(); });
  });
  return server;
}

/**
 * VRRP counters read from the subsystem's status at each scrape (the same numbers as
 * `lvsadm vrrp`): adverts sent and received per instance, drops by reason per instance and,
 * for drops found before an instance saw the packet (truncated, bad_ip_header,
 * unknown_vrid), per socket. Returns the detach function.
 */
export function registerVrrpMetrics(registry: Registry, getStatus: () => VrrpStatus | null): () => void {
  const names = [
    'lvsd_vrrp_adverts_sent_total', 'lvsd_vrrp_adverts_received_total', 'lvsd_vrrp_packets_dropped_total', 'lvsd_vrrp_socket_packets_dropped_total',
  ];
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter<string>, s: VrrpStatus) => void) =>
    new Counter({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        const s = getStatus();
        if (s) fill(this, s);
      },
    });
  counter(names[0]!, 'VRRP adverts sent (priority 0 included)', ['instance'], (c, s) => {
    for (const i of s.instances) c.inc({ instance: i.name }, i.counters.advertsSent);
  });
  counter(names[1]!, 'VRRP adverts received and accepted', ['instance'], (c, s) => {
    for (const i of s.instances) c.inc({ instance: i.name }, i.counters.advertsReceived);
  });
  counter(names[2]!, 'VRRP packets dropped by an instance, by reason', ['instance', 'reason'], (c, s) => {
    for (const i of s.instances) for (const [reason, n] of Object.entries(i.counters.drops)) c.inc({ instance: i.name, reason }, n);
  });
  counter(names[3]!, 'VRRP packets dropped before reaching an instance, by socket and reason', ['family', 'interface', 'reason'], (c, s) => {
    for (const ch of s.channels) for (const [reason, n] of Object.entries(ch.drops)) c.inc({ family: ch.family, interface: ch.interface, reason }, n);
  });
  return () => {
    for (const n of names) registry.removeSingleMetric(n);
  };
}
