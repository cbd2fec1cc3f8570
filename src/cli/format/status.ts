/** Text output of `lvsadm status` and `lvsadm reload`. */

/** Formats the `status` command's result. */
export function formatStatus(r: unknown): string {
  const s = r as {
    version: string; pid: number; uptimeS: number; configFile: string; running: boolean;
    lastReload: { at: string; trigger: string; outcome: string } | null; subsystems: string[];
    counts: { vrrpInstances: number; syncGroups: number; virtualServers: number; realServers: number } | null;
  };
  const lines = [
    `lvsd ${s.version}, pid ${s.pid}, up ${formatDuration(s.uptimeS)}${s.running ? '' : ' (stopping)'}`,
    `config:      ${s.configFile}`,
    `last reload: ${s.lastReload ? `${s.lastReload.outcome} at ${s.lastReload.at} (${s.lastReload.trigger})` : 'none'}`,
    `subsystems:  ${s.subsystems.join(', ') || 'none'}`,
  ];
  if (s.counts) {
    lines.push(
      `objects:     ${s.counts.vrrpInstances} VRRP instance(s), ${s.counts.syncGroups} sync group(s), ` +
        `${s.counts.virtualServers} virtual server(s), ${s.counts.realServers} real server(s)`,
    );
  }
  return lines.join('\n');
}

/** Formats the `reload` command's result. */
export function formatReload(r: unknown): string {
  const o = r as { changed: boolean; summary: Record<string, { added: number; removed: number; changed: number }>; warnings: string[] };
  const parts = Object.entries(o.summary)
    .filter(([, c]) => c.added + c.removed + c.changed > 0)
    .map(([k, c]) => `${k}: +${c.added} -${c.removed} ~${c.changed}`);
  const head = o.changed ? `config applied (${parts.join(', ')})` : 'config applied (no changes)';
  return [head, ...o.warnings.map((w) => `warning: ${w}`)].join('\n');
}

/** 3725 → "1h 2m 5s". */
export function formatDuration(totalS: number): string {
  const d = Math.floor(totalS / 86400);
  const h = Math.floor((totalS % 86400) / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const sec = totalS % 60;
  return [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', `${sec}s`].filter(Boolean).join(' ');
}

/**
 * `lvsadm config` for people: where the config came from and what lvsd understood, one line
 * per instance and per service (`lvsadm --json config` prints the whole compiled model).
 */
export function formatConfig(status: unknown, model: unknown): string {
  const s = status as { configFile: string; lastReload: { at: string; trigger: string; outcome: string } | null };
  const m = model as {
    global: { routerId: string; enableScriptSecurity: boolean; scriptUser: { user: string; group: string | null } | null };
    vrrpScripts: Record<string, unknown>;
    syncGroups: Record<string, { members: string[] }>;
    instances: Record<string, {
      name: string; interface: string; vrid: number; priority: number; initialState: string; version: number;
      vips: Array<{ address: string; prefixLen: number }>; syncGroup: string | null;
    }>;
    virtualServers: Record<string, {
      key: string; scheduler: string; method: string; quorum: number; ownerInstance: string | null;
      sorryServer: { address: string; port: number } | null;
      realServers: Record<string, { key: string; weight: number; checkers: Array<{ kind: string }> }>;
    }>;
  } | null;
  const lines = [
    `config file: ${s.configFile}`,
    `last reload: ${s.lastReload ? `${s.lastReload.outcome} at ${s.lastReload.at} (${s.lastReload.trigger})` : 'none'}`,
  ];
  if (!m) return [...lines, 'no config in force'].join('\n');
  const user = m.global.scriptUser ? `${m.global.scriptUser.user}${m.global.scriptUser.group ? `:${m.global.scriptUser.group}` : ''}` : 'default';
  lines.push(`router_id:   ${m.global.routerId}`);
  lines.push(`scripts:     ${Object.keys(m.vrrpScripts).length} vrrp_script(s), script_user ${user}, enable_script_security ${m.global.enableScriptSecurity ? 'on' : 'off'}`);
  const inst = Object.values(m.instances);
  lines.push(`vrrp:        ${inst.length} instance(s), ${Object.keys(m.syncGroups).length} sync group(s)`);
  for (const i of inst) {
    const vips = i.vips.map((v) => `${v.address}/${v.prefixLen}`).join(' ');
    lines.push(`  ${i.name}  ${i.interface} vrid ${i.vrid} v${i.version} priority ${i.priority} start ${i.initialState}${i.syncGroup ? ` group ${i.syncGroup}` : ''}  vips ${vips || '-'}`);
  }
  const vss = Object.values(m.virtualServers);
  const reals = vss.reduce((n, vs) => n + Object.keys(vs.realServers).length, 0);
  lines.push(`services:    ${vss.length} virtual server(s), ${reals} real server(s)`);
  for (const vs of vss) {
    const rs = Object.values(vs.realServers).map((r) => `${r.key} w${r.weight}${r.checkers.length ? ` ${r.checkers.map((c) => c.kind).join('+')}` : ''}`);
    lines.push(`  ${vs.key}  ${vs.scheduler} ${vs.method} quorum ${vs.quorum}${vs.sorryServer ? ` sorry ${vs.sorryServer.address}:${vs.sorryServer.port}` : ''}  held by ${vs.ownerInstance ?? 'lvs_interface'}`);
    for (const r of rs) lines.push(`    -> ${r}`);
  }
  return lines.join('\n');
}
