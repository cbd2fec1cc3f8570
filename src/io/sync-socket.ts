/**
 * The connection-sync sockets over node:dgram (SyncSocketPort of src/sync/ports.ts), set up
 * as the kernel's sync threads set up theirs (net/netfilter/ipvs/ip_vs_sync.c):
 *
 * - sender (make_send_sock): the multicast interface set, IP_MULTICAST_LOOP off, the TTL
 *   (IPv6: hop limit) set, IPv4 bound to the interface's primary address
 *   (bind_mcastif_addr), messages sent to group:port;
 * - receiver (make_receive_sock): SO_REUSEADDR, bound to group:port (IPv6: [::]:port), the
 *   group joined on the interface (join_mcast_group).
 *
 * A strong reference to every socket is kept by its owner (an unreferenced socket can be
 * collected and closed).
 */
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { SyncEndpoint, SyncReceiver, SyncSender, SyncSocketPort } from '../sync/ports.js';

/** The interface's first IPv4 address (inet_select_addr, RT_SCOPE_UNIVERSE), or null. */
function ipv4Of(ifname: string): string | null {
  const list = networkInterfaces()[ifname] ?? [];
  return list.find((a) => a.family === 'IPv4' && !a.internal)?.address ?? list.find((a) => a.family === 'IPv4')?.address ?? null;
}

function bindAsync(s: Socket, o: { address?: string; port: number; exclusive?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error) => reject(e);
    s.once('error', onErr);
    s.bind(o, () => {
      s.off('error', onErr);
      resolve();
    });
  });
}

function closeAsync(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/** The daemon's SyncSocketPort; `mtu` reads an interface's MTU (netlink, in the daemon's namespace). */
export function dgramSyncSockets(mtu: (name: string) => Promise<number | null>): SyncSocketPort {
  return {
    async openSender(ep: SyncEndpoint, onError: (e: Error) => void): Promise<SyncSender> {
      const v6 = ep.family === 'ipv6';
      const s = createSocket({ type: v6 ? 'udp6' : 'udp4' });
      s.on('error', onError);
      if (v6) {
        await bindAsync(s, { address: '::', port: 0 });
        s.setMulticastInterface(`::%${ep.interface}`);
      } else {
        const addr = ipv4Of(ep.interface);
        if (!addr) {
          await closeAsync(s);
          throw new Error(`interface ${ep.interface} has no IPv4 address (the kernel's sync daemon binds to it too)`);
        }
        await bindAsync(s, { address: addr, port: 0 });
        s.setMulticastInterface(addr);
      }
      s.setMulticastTTL(ep.ttl);
      s.setMulticastLoopback(false);
      return {
        send: (msg) => s.send(msg, ep.port, ep.group, (e) => { if (e) onError(e); }),
        close: () => closeAsync(s),
      };
    },

    async openReceiver(ep: SyncEndpoint, onMessage: (msg: Uint8Array) => void, onError: (e: Error) => void): Promise<SyncReceiver> {
      const v6 = ep.family === 'ipv6';
      const s = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: true });
      s.on('error', onError);
      s.on('message', (m) => onMessage(m));
      if (v6) {
        await bindAsync(s, { address: '::', port: ep.port });
        s.addMembership(ep.group, `::%${ep.interface}`);
      } else {
        const addr = ipv4Of(ep.interface);
        if (!addr) {
          await closeAsync(s);
          throw new Error(`interface ${ep.interface} has no IPv4 address to join ${ep.group} on`);
        }
        await bindAsync(s, { address: ep.group, port: ep.port });
        s.addMembership(ep.group, addr);
      }
      try {
        s.setRecvBufferSize(4 << 20);
      } catch {
        /* capped by net.core.rmem_max: the default is fine */
      }
      return { close: () => closeAsync(s) };
    },

    interfaceMtu: mtu,
  };
}
