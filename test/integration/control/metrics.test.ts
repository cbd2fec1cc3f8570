import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/events/bus.js';
import { createMetricsRegistry, serveMetrics } from '../../../src/control/metrics.js';

test('metrics endpoint exposes VRRP state and real-server health from events', async () => {
  const bus = new EventBus();
  const { registry, detach } = createMetricsRegistry(bus);
  const server = await serveMetrics(registry, '127.0.0.1', 0);
  try {
    bus.emit({ type: 'vrrp.transition', instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 100, masterAddress: null });
    bus.emit({ type: 'real.down', service: 'tcp:198.18.0.10:80', real: '198.18.1.1:80', checker: 'tcp#0', reason: 'refused', detail: '', latencyMs: 1 });
    const port = (server.address() as { port: number }).port;
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(body, /lvsd_vrrp_state\{instance="VI_1"\} 2/);
    assert.match(body, /lvsd_vrrp_transitions_total\{instance="VI_1",to="MASTER",reason="master_down_timer"\} 1/);
    assert.match(body, /lvsd_real_server_up\{service="tcp:198.18.0.10:80",real="198.18.1.1:80"\} 0/);
    assert.match(body, /lvsd_process_cpu_user_seconds_total/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
  } finally {
    detach();
    await new Promise((r) => server.close(r));
  }
});
