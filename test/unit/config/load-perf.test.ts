/**
 * A large config loads fast: 20 virtual servers × 100 real servers, each with a TCP_CHECK
 * (2,000 real servers). Target: well under a second (measured on the 2-core CI class
 * machine: ~0.3 s warm, ~0.5 s cold including module load; the bound below leaves room for
 * a loaded machine).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../../src/config/load.js';

function bigConfig(services: number, reals: number): string {
  const out: string[] = ['vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n'];
  for (let v = 0; v < services; v++) out.push(`        198.18.0.${10 + v}/24 dev eth0\n`);
  out.push('    }\n}\n');
  for (let v = 0; v < services; v++) {
    out.push(`virtual_server 198.18.0.${10 + v} 80 {\n    delay_loop 6\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n`);
    for (let r = 0; r < reals; r++) {
      out.push(`    real_server 198.18.${1 + Math.floor(r / 250)}.${1 + (r % 250)} 80 {\n        weight ${1 + (r % 5)}\n`
        + '        TCP_CHECK {\n            connect_timeout 3\n            retry 2\n        }\n    }\n');
    }
    out.push('}\n');
  }
  return out.join('');
}

test('2,000 real servers load in well under a second', (t) => {
  const text = bigConfig(20, 100);
  const times: number[] = [];
  let reals = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = loadConfigText(text, 'big.conf', 'keepalived', { hostname: 'h', configId: 'h' });
    times.push(performance.now() - t0);
    assert.ok(r.ok);
    reals = Object.values(r.model.virtualServers).reduce((n, vs) => n + Object.keys(vs.realServers).length, 0);
  }
  assert.equal(reals, 2000);
  t.diagnostic(`load times (ms): ${times.map((x) => x.toFixed(0)).join(', ')}`);
  assert.ok(Math.min(...times) < 1000, `fastest load took ${Math.min(...times).toFixed(0)} ms`);
});
