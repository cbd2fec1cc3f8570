#!/usr/bin/env python3
"""A userspace LVS-TUN real-server decapsulator for the netns tests (test-only helper).

The test kernel has no ipip, gre or fou modules, so this script stands in for the real
server's tunl0: it reads IP-in-IP (protocol 4), IPv6-in-IP (41), GRE (47) and GUE (UDP to
--gue-port) packets addressed to --local from an AF_PACKET socket with PACKET_VNET_HDR on
--dev, strips the outer headers and writes the inner packet into a TUN device (IFF_TUN |
IFF_NO_PI | IFF_VNET_HDR) that carries the VIPs, so the real server's own stack answers from
the VIP straight to the client. The virtio header is carried over as the kernel's decap would
keep the skb's checksum state: a NEEDS_CSUM that points into the inner packet (the director
left the inner checksum partial) moves with it; one that points at the outer GRE/UDP header
(the inner checksum is complete) is dropped, so the real server's TCP verifies what the
director computed. A GUE remote-checksum-offload option becomes NEEDS_CSUM at its start and
offset (gue_remcsum). With --complete, a partial inner checksum is completed here instead (as
skb_checksum_help does for a device without checksum offload) and handed over as complete, so
the real server's TCP verifies the director's pseudo-header sum too. Raw sockets for protocols 4, 41, 47 (and a UDP socket on the GUE port)
are held open and drained (their contents discarded) so the kernel does not answer the tunnel
packets with ICMP protocol/port unreachable: a raw socket whose queue is full counts as none
(IpInUnknownProtos) and the kernel sends one.

Bounded: exits after --lifetime seconds or on SIGTERM (the test kills it by PID). Prints one line
"ready" when the TUN device is up, then "decap N" lines (packets written) every second.

  tun-decap.py --dev eth0 --tun tunl0 --local 198.18.2.21 [--local6 ADDR] --vip 198.18.2.10 ...
               [--gue-port 6080] [--mtu 1480] [--complete] [--lifetime 600]
"""
import argparse
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_IGNORE_OUTGOING = 23
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
NEEDS_CSUM = 1


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--dev', required=True)
    ap.add_argument('--tun', default='tunl0')
    ap.add_argument('--local', action='append', default=[])
    ap.add_argument('--vip', action='append', default=[])
    ap.add_argument('--gue-port', type=int, default=0)
    ap.add_argument('--mtu', type=int, default=1500)
    ap.add_argument('--complete', action='store_true')
    ap.add_argument('--lifetime', type=float, default=600.0)
    a = ap.parse_args()

    deadline = time.monotonic() + a.lifetime
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    tun = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack('16sH', a.tun.encode(), IFF_TUN | IFF_NO_PI | IFF_VNET_HDR))
    subprocess.run(['ip', 'link', 'set', 'dev', a.tun, 'mtu', str(a.mtu), 'up'], check=True)
    for v in a.vip:
        subprocess.run(['ip', 'addr', 'add', v + ('/128' if ':' in v else '/32'), 'dev', a.tun], check=True)

    # Held open and drained: their presence stops ICMP protocol / port unreachable.
    hold = []
    for fam, proto in ((socket.AF_INET, 4), (socket.AF_INET, 41), (socket.AF_INET, 47),
                       (socket.AF_INET6, 4), (socket.AF_INET6, 41), (socket.AF_INET6, 47)):
        try:
            s = socket.socket(fam, socket.SOCK_RAW, proto)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            hold.append(s)
        except OSError:
            pass
    if a.gue_port:
        for fam in (socket.AF_INET, socket.AF_INET6):
            u = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET6:
                u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            u.bind(('::' if fam == socket.AF_INET6 else '0.0.0.0', a.gue_port))
            hold.append(u)

    locals4 = {socket.inet_aton(x) for x in a.local if ':' not in x}
    locals6 = {socket.inet_pton(socket.AF_INET6, x) for x in a.local if ':' in x}
    ps = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    ps.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    ps.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    ps.bind((a.dev, 0))
    print('ready', flush=True)

    written = 0
    last = time.monotonic()
    while time.monotonic() < deadline:
        r, _, _ = select.select([ps, *hold], [], [], 0.5)
        for h in hold:
            if h in r:
                for _ in range(256):
                    try:
                        h.recv(70000, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
        if time.monotonic() - last >= 1:
            print('decap', written, flush=True)
            last = time.monotonic()
        if ps not in r:
            continue
        for _ in range(256):
            try:
                f = ps.recv(70000, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            out = decap(f, locals4, locals6, a.gue_port, a.complete)
            if out is not None:
                os.write(tun, out)
                written += 1
    print('decap', written, flush=True)
    return 0


def complete(inner: bytes, start: int, off: int) -> bytes:
    """The inner packet with the one's complement sum from start stored at start + off."""
    b = bytearray(inner)
    data = bytes(b[start:]) + (b'\0' if (len(b) - start) % 2 else b'')
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    c = ~s & 0xffff
    b[start + off:start + off + 2] = struct.pack('!H', c or 0xffff)
    return bytes(b)


def decap(f: bytes, locals4, locals6, gue_port: int, full: bool):
    """The vnet header + inner packet to write to the TUN device, or None."""
    if len(f) < 10 + 14 + 20:
        return None
    flags, gso, hdr_len, gso_size, cs_start, cs_off = struct.unpack_from('<BBHHHH', f, 0)
    eth = 10
    et = struct.unpack_from('!H', f, eth + 12)[0]
    l3 = eth + 14
    if et == 0x0800:
        if f[l3 + 16:l3 + 20] not in locals4 or struct.unpack_from('!H', f, l3 + 6)[0] & 0x3fff:
            return None  # not ours, or a fragment (the kernel reassembles those for the raw sockets)
        proto = f[l3 + 9]
        o = l3 + (f[l3] & 15) * 4
        end = l3 + struct.unpack_from('!H', f, l3 + 2)[0]
    elif et == 0x86dd:
        if f[l3 + 24:l3 + 40] not in locals6:
            return None
        proto = f[l3 + 6]
        o = l3 + 40
        end = o + struct.unpack_from('!H', f, l3 + 4)[0]
    else:
        return None
    rem = None
    if proto in (4, 41):
        pass
    elif proto == 47:
        gflags = struct.unpack_from('!H', f, o)[0]
        o += 8 if gflags & 0x8000 else 4
    elif proto == 17 and gue_port and struct.unpack_from('!H', f, o + 2)[0] == gue_port:
        hlen = (f[o + 8] & 31) * 4
        gflags = struct.unpack_from('!H', f, o + 10)[0]
        if gflags & 1 and hlen >= 8 and f[o + 12] & 0x80:
            rem = struct.unpack_from('!HH', f, o + 16)
        o += 12 + hlen
    else:
        return None
    inner = f[o:end]
    if len(inner) < 20:
        return None
    strip = o - eth
    partial = None
    if rem is not None:
        partial = (rem[0], rem[1] - rem[0])
    elif flags & NEEDS_CSUM and cs_start >= strip:
        partial = (cs_start - strip, cs_off)
    if partial is not None and full and not gso:
        inner = complete(inner, partial[0], partial[1])
        partial = None
    if partial is not None:
        vh = struct.pack('<BBHHHH', NEEDS_CSUM, gso, max(0, hdr_len - strip), gso_size, partial[0], partial[1])
    else:
        vh = struct.pack('<BBHHHH', 0, gso, max(0, hdr_len - strip), gso_size, 0, 0)
    return vh + inner


if __name__ == '__main__':
    sys.exit(main())
