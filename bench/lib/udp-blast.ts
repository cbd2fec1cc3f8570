/**
 * UDP blaster for bench/forward.ts (run inside the client namespace): sends 64-byte frames
 * (Ethernet + IPv4 + UDP + 22 bytes) with sendmmsg through the project's addon, over `flows`
 * source ports, for `seconds`; prints {"sent": N} on stdout.
 *
 *   node --import tsx bench/lib/udp-blast.ts IFNAME DSTMAC SRCIP DSTIP DPORT SECONDS FLOWS [SOURCES]
 *
 * SOURCES (default 1): frames leave from SRCIP, SRCIP+1, ... in turn (several clients).
 */
import { allocTxBatch, openPacketSocket } from '../../src/io/af-packet.js';
import { parseIPv4 } from '../../src/lib/ip.js';
import { parseMac } from '../../src/lib/mac.js';
import { checksum, pseudoSum4 } from '../../src/forward/checksum.js';

const [ifname, dstMac, srcIp, dstIp, dport, seconds, flows, sources] = process.argv.slice(2);
const nSrc = Math.max(1, Number(sources ?? 1));
const s = openPacketSocket(ifname!, { protocol: 0 });
const n = 256;
const tx = allocTxBatch(n, n * 128);
const dmac = parseMac(dstMac!)!;
const src0 = parseIPv4(srcIp!)!;
const dst = parseIPv4(dstIp!)!;
const dv = new DataView(tx.buf.buffer, tx.buf.byteOffset, tx.buf.byteLength);
for (let i = 0; i < n; i++) {
  const o = i * 128;
  tx.offsets[i] = o;
  tx.lengths[i] = 64;
  tx.buf.set(dmac, o);
  tx.buf.set(s.mac, o + 6);
  dv.setUint16(o + 12, 0x0800);
  const ip = o + 14;
  dv.setUint8(ip, 0x45);
  dv.setUint16(ip + 2, 50);
  dv.setUint16(ip + 6, 0x4000);
  dv.setUint8(ip + 8, 64);
  dv.setUint8(ip + 9, 17);
  const src = (src0 + (i % nSrc)) >>> 0;
  dv.setUint32(ip + 12, src);
  dv.setUint32(ip + 16, dst);
  dv.setUint16(ip + 10, checksum(tx.buf, ip, 20));
  const u = ip + 20;
  dv.setUint16(u, 20000 + (i % Number(flows)));
  dv.setUint16(u + 2, Number(dport));
  dv.setUint16(u + 4, 30);
  for (let k = 0; k < 22; k++) tx.buf[u + 8 + k] = k;
  dv.setUint16(u + 6, checksum(tx.buf, u, 30, pseudoSum4(src, dst, 17, 30)) || 0xffff);
}
s.attachTx(tx);
let sent = 0;
let calls = 0;
const end = performance.now() + Number(seconds) * 1000;
for (;;) {
  sent += s.sendBatch(n);
  if ((++calls & 63) === 0 && performance.now() > end) break;
}
process.stdout.write(JSON.stringify({ sent }) + '\n');
s.close();
