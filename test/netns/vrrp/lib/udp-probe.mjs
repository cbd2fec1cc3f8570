// A client probing a VIP: one UDP datagram every INTERVAL ms for DURATION ms, then prints
// one JSON line {sent:[...ms], replies:[{seq, sentMs, recvMs, from}]} and exits.
// Usage: node udp-probe.mjs DST PORT INTERVAL_MS DURATION_MS
import { createSocket } from 'node:dgram';
const [dst, port, interval, duration] = process.argv.slice(2);
const s = createSocket('udp4');
const sent = [];
const replies = [];
s.on('message', (msg) => {
  const [from, seqText] = msg.toString().split(' ');
  const seq = Number(seqText);
  replies.push({ seq, sentMs: sent[seq], recvMs: Date.now(), from });
});
s.on('error', () => {}); // ICMP port unreachable while the VIP points at a dead service
s.bind(0, () => {
  process.stdout.write(`ready ${Date.now()}\n`);
  let seq = 0;
  const t = setInterval(() => {
    sent[seq] = Date.now();
    s.send(String(seq), Number(port), dst);
    seq++;
  }, Number(interval));
  setTimeout(() => {
    clearInterval(t);
    setTimeout(() => {
      process.stdout.write(`${JSON.stringify({ sent, replies })}\n`);
      process.exit(0);
    }, 200);
  }, Number(duration));
});
