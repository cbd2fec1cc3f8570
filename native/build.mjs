#!/usr/bin/env node
// Builds the project's N-API addon (native/) with node-gyp against the headers of the Node
// that runs this script: --nodedir is derived from process.execPath, so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const nodeDir = dirname(dirname(process.execPath)); // /usr/bin/node → /usr
if (!existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) {
  console.error(`native/build.mjs: no Node headers under ${nodeDir}/include/node (install the nodejs dev headers)`);
  process.exit(1);
}

const candidates = [
  process.env.npm_config_node_gyp,
  join(nodeDir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => p && existsSync(p));
if (candidates.length === 0) {
  console.error('native/build.mjs: node-gyp not found (it ships with npm)');
  process.exit(1);
}

const r = spawnSync(process.execPath, [candidates[0], 'rebuild', `--nodedir=${nodeDir}`, '--directory', here], {
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: nodeDir },
});
process.exit(r.status ?? 1);
