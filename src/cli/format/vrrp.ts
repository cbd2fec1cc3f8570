/**
 * Text output of `lvsadm vrrp`: one block per instance (state, priorities, master, VIPs,
 * trackers, counters), then the sync groups and the VRRP sockets. `--json` prints the
 * VrrpStatus itself (src/vrrp/status.ts).
 */
import type { VrrpInstanceStatus, VrrpStatus } from '../../vrrp/status.js';

function dur(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.floor(s % 60)}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h${m % 60}m` : `${Math.floor(h / 24)}d${h % 24}h`;
}

function head(i: VrrpInstanceStatus): string {
  const mode = i.unicastPeers.length ? `unicast to ${i.unicastPeers.join(',')}` : 'multicast';
  const prio = i.effectivePriority === i.basePriority ? `priority ${i.effectivePriority}` : `priority ${i.effectivePriority} (base ${i.basePriority})`;
  const want = i.wantState !== i.state && i.state !== 'STOP' && i.wantState !== 'FAULT' ? ` (wants ${i.wantState})` : '';
  return `${i.name}  ${i.state}${want}  ${i.interface} vrid ${i.vrid} v${i.version} ${i.family} ${mode}  ${prio}`;
}

function master(i: VrrpInstanceStatus): string {
  const who = i.masterAddress === null ? 'unknown' : i.masterAddress === i.localAddress ? `${i.masterAddress} (this director)` : i.masterAddress;
  const prio = i.masterPriority !== null && i.masterAddress !== i.localAddress ? ` priority ${i.masterPriority}` : '';
  const down = i.masterDownInMs !== null ? `, master down in ${dur(i.masterDownInMs)}` : '';
  const since = i.lastTransition ? `, ${i.lastTransition.from}->${i.lastTransition.to} ${dur(i.lastTransition.agoMs)} ago (${i.lastTransition.reason})` : '';
  return `  master ${who}${prio}; source ${i.localAddress ?? 'none'}; advert ${dur(i.advertIntervalMs)}${i.masterAdverIntervalMs !== i.advertIntervalMs ? ` (master's ${dur(i.masterAdverIntervalMs)})` : ''}${i.preempt ? (i.preemptDelayMs ? `; preempt_delay ${dur(i.preemptDelayMs)}` : '') : '; nopreempt'}${down}${since}`;
}

function vips(i: VrrpInstanceStatus): string {
  if (i.vips.length === 0) return '  VIPs: none';
  const list = i.vips.map((v) => `${v.address}/${v.prefixLen} dev ${v.dev}${v.owner === 'core' ? ' (core)' : ''}${v.excluded ? ' (excluded)' : ''}`);
  return `  VIPs${i.vipsSet ? ' (installed)' : ''}: ${list.join(', ')}`;
}

function trackers(i: VrrpInstanceStatus): string | null {
  if (i.trackers.length === 0) return null;
  const t = i.trackers.map((x) => {
    const st = x.up === null ? 'pending' : x.up ? 'up' : 'down';
    const eff = x.effect === 'fault' ? ' FAULT' : x.effect === 'priority' ? ` ${x.delta > 0 ? '+' : ''}${x.delta}` : '';
    const w = x.weight ? ` weight ${x.weight}${x.weightReverse ? ' reverse' : ''}` : '';
    return `${x.name} ${st}${w}${eff}`;
  });
  return `  trackers: ${t.join(', ')}`;
}

function counters(i: VrrpInstanceStatus): string {
  const c = i.counters;
  const drops = Object.entries(c.drops).filter(([, n]) => n > 0).map(([r, n]) => `${r}=${n}`);
  return (
    `  adverts sent ${c.advertsSent} (priority 0: ${c.priorityZeroSent}), received ${c.advertsReceived} (priority 0: ${c.priorityZeroReceived}); ` +
    `became master ${c.becameMaster}, released ${c.releasedMaster}; garp ${c.garpSent}${c.garpFailed ? ` (failed ${c.garpFailed})` : ''}` +
    `${c.sendErrors ? `; send errors ${c.sendErrors}` : ''}; drops ${drops.length ? drops.join(' ') : 'none'}`
  );
}

/** Formats the `vrrp` command's result for people. */
export function formatVrrp(result: unknown): string {
  const r = result as VrrpStatus;
  if (!r || !Array.isArray(r.instances) || r.instances.length === 0) return 'no vrrp instances';
  const out: string[] = [];
  for (const i of r.instances) {
    out.push(head(i), master(i), vips(i));
    const t = trackers(i);
    if (t) out.push(t);
    out.push(counters(i));
  }
  for (const g of r.syncGroups) out.push(`sync group ${g.name}: ${g.state} (${g.members.join(', ')})`);
  for (const c of r.channels) {
    const drops = Object.entries(c.drops).filter(([, n]) => n > 0).map(([r, n]) => `${r}=${n}`);
    out.push(`socket ${c.family} ${c.interface}${c.multicastGroup ? ` group ${c.multicastGroup}` : ''}: ${c.open ? 'open' : 'NOT OPEN'}; drops ${drops.length ? drops.join(' ') : 'none'}`);
  }
  return out.join('\n');
}
