/**
 * Where the lab finds the programs it starts. Everything runs from the compiled tree, as
 * users run it: bin/lvsd.js and bin/lvsadm.js import dist/, and the lab's own programs are
 * dist/lab/*.js. This file sits two levels below the package root in src/ and in dist/.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The package root (the directory holding package.json). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Paths of the programs the lab and the end-to-end tests start. */
export const PROGRAMS = {
  lvsd: join(PACKAGE_ROOT, 'bin', 'lvsd.js'),
  lvsadm: join(PACKAGE_ROOT, 'bin', 'lvsadm.js'),
  realServer: join(PACKAGE_ROOT, 'dist', 'lab', 'real-server.js'),
  httpClient: join(PACKAGE_ROOT, 'dist', 'lab', 'http-client.js'),
} as const;

/** The shipped lab config files. */
export const LAB_CONFIG_DIR = join(PACKAGE_ROOT, 'config', 'lab');
