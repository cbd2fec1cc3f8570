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
