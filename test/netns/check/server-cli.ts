/**
 * A plain HTTP server for the netns tests: listens on argv[2]:argv[3], answers 200 "ok",
 * and prints "ready" once listening.
 */
import { createServer } from 'node:http';

const srv = createServer((_req, res) => res.end('ok\n'));
srv.listen(Number(process.argv[3]), process.argv[2], () => process.stdout.write('ready\n'));
