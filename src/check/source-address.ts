/**
 * The source address and port of a check connection (`bindto`, `bind_port`, `bind_if`).
 *
 * Node's `net` cannot set SO_BINDTODEVICE, so `bind_if` cannot pin the socket to a device as
 * keepalived does. lvsd does the nearest thing it can: when `bindto` is not given, it binds
 * to the first address of the check's family on that interface, which makes the kernel pick
 * a route from that source; the route still decides the egress device. The checker reports
 * this once as a warning so an operator is not misled.
 */
import { networkInterfaces } from 'node:os';
import { isIPv6 } from 'node:net';
import type { Checker } from '../model/types.js';

/** `localAddress`/`localPort` for net.connect / tls.connect. */
export interface SourceOptions {
  readonly localAddress?: string;
  readonly localPort?: number;
}

/**
 * Resolves a checker's source options. `bindIfAddress` returns null when the interface has
 * no address of the right family (the check then runs from the kernel's choice).
 */
export function sourceOptions(c: Checker, bindIfAddress: (ifname: string, v6: boolean) => string | null = interfaceAddress): SourceOptions {
  const v6 = isIPv6(c.connectIp);
  const addr = c.bindTo ?? (c.bindIf ? bindIfAddress(c.bindIf, v6) : null);
  const out: { localAddress?: string; localPort?: number } = {};
  if (addr) out.localAddress = addr;
  if (c.bindPort !== null && c.bindPort > 0) out.localPort = c.bindPort;
  return out;
}

/** First address of the family on ifname (IPv6 link-local last), or null. */
export function interfaceAddress(ifname: string, v6: boolean): string | null {
  const list = networkInterfaces()[ifname];
  if (!list) return null;
  const fam = list.filter((a) => (v6 ? a.family === 'IPv6' : a.family === 'IPv4'));
  const pick = fam.find((a) => !a.address.toLowerCase().startsWith('fe80')) ?? fam[0];
  return pick ? pick.address : null;
}
