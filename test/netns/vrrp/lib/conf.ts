/**
 * keepalived.conf text for the netns tests. The same text configures lvsd and keepalived,
 * which is the point: users bring their keepalived.conf.
 */

/** One vrrp_instance. */
export interface ConfInstance {
  readonly name: string;
  readonly priority: number;
  readonly vrid?: number;
  readonly version?: 2 | 3;
  /** advert_int in seconds. */
  readonly advertInt?: number;
  readonly password?: string | null;
  readonly unicastSrc?: string | null;
  readonly unicastPeers?: readonly string[];
  /** `198.18.10.100/24`, `fe80::51:1/64` ... */
  readonly vips: readonly string[];
  readonly nopreempt?: boolean;
  readonly trackScripts?: readonly string[];
  readonly trackInterfaces?: readonly string[];
  readonly trackFiles?: readonly string[];
  readonly notifyMaster?: string;
  readonly notify?: string;
  /** Extra lines inside the block. */
  readonly extra?: readonly string[];
}

/** A whole keepalived.conf: global_defs lines, raw top-level blocks (vrrp_script...), instances. */
export function vrrpConf(opts: { routerId: string; global?: readonly string[]; blocks?: readonly string[]; instances: readonly ConfInstance[] }): string {
  const out: string[] = ['global_defs {', `  router_id ${opts.routerId}`, ...(opts.global ?? []).map((l) => `  ${l}`), '}', ...(opts.blocks ?? [])];
  for (const i of opts.instances) {
    const list = (kw: string, items: readonly string[] | undefined) => (items && items.length ? [`  ${kw} {`, ...items.map((x) => `    ${x}`), '  }'] : []);
    out.push(
      `vrrp_instance ${i.name} {`,
      '  state BACKUP',
      '  interface eth0',
      `  virtual_router_id ${i.vrid ?? 51}`,
      `  priority ${i.priority}`,
      `  advert_int ${i.advertInt ?? 1}`,
      `  version ${i.version ?? 2}`,
      ...(i.nopreempt ? ['  nopreempt'] : []),
      ...(i.password ? ['  authentication {', '    auth_type PASS', `    auth_pass ${i.password}`, '  }'] : []),
      ...(i.unicastSrc ? [`  unicast_src_ip ${i.unicastSrc}`] : []),
      ...list('unicast_peer', i.unicastPeers),
      ...list('virtual_ipaddress', i.vips),
      ...list('track_script', i.trackScripts),
      ...list('track_interface', i.trackInterfaces),
      ...list('track_file', i.trackFiles),
      ...(i.notifyMaster ? [`  notify_master ${i.notifyMaster}`] : []),
      ...(i.notify ? [`  notify ${i.notify}`] : []),
      ...(i.extra ?? []).map((l) => `  ${l}`),
      '}',
    );
  }
  return out.join('\n') + '\n';
}
