// UDP echo for the netns tests: answers every datagram on 0.0.0.0:PORT with "NAME SEQ".
// Plain JS (no tsx) so it starts fast. Usage: node udp-echo.mjs NAME PORT
import { createSocket } from 'node:dgram';
const [name, port] = process.argv.slice(2);
const s = createSocket('udp4');
s.on('message', (msg, rinfo) => s.send(`${name} ${msg.toString()}`, rinfo.port, rinfo.address));
s.bind(Number(port), '0.0.0.0', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
