/**
 * `lvsd --test` and `lvsd --dump-config` through the command-line entry point: the exact
 * exit code (keepalived -t's), what goes to stdout and stderr.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lvsdMain } from '../../../src/cli/lvsd.js';
import { loadConfigFile } from '../../../src/config/load.js';

async function lvsd(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await lvsdMain(argv, { out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { code, out, err };
}

const GOOD = `global_defs {
    router_id cli
    lvs_interface eth0
}
virtual_server 198.18.0.10 80 {
    protocol TCP
    real_server 198.18.1.1 80 {
        weight 3
    }
}
`;

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvt-cli-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('--test: 0 for a good file, 5 with every error, 4 when only files cannot be read', withDir(async (dir) => {
  const good = join(dir, 'good.conf');
  writeFileSync(good, GOOD);
  assert.deepEqual(await lvsd('--test', '-f', good), { code: 0, out: '', err: `${good}: configuration OK (1 file(s), 0 warning(s))\n` });
  assert.equal((await lvsd('-t', '-f', good)).code, 0, 'keepalived spells it -t');

  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, GOOD.replace('weight 3', 'weight heavy').replace('router_id cli', 'router_id cli\n    prority 1'));
  assert.deepEqual(await lvsd('--test', '-f', bad), {
    code: 5, out: '',
    err: `${bad}:3:5: global_defs.prority: unknown keyword \`prority\` in \`global_defs\` [ERR_CONFIG_UNKNOWN_KEYWORD]\n`
      + `${bad}:9:16: virtual_server[198.18.0.10 80].real_server[198.18.1.1 80].weight: \`weight\` must be an integer from 0 to 65535, not \`heavy\` [ERR_CONFIG_VALUE]\n`
      + `${bad}: 2 error(s), configuration rejected\n`,
  });

  const missing = join(dir, 'missing.conf');
  assert.deepEqual(await lvsd('--test', '-f', missing), {
    code: 4, out: '',
    err: `${missing}: the config file does not exist [ERR_CONFIG_IO]\n${missing}: 1 error(s), configuration rejected\n`,
  });
  assert.equal((await lvsd('--test', '-f', dir)).code, 4, 'a directory');
  const inc = join(dir, 'inc.conf');
  writeFileSync(inc, `include ${join(dir, 'nope.conf')}\n${GOOD}`);
  const r = await lvsd('--test', '-f', inc);
  assert.equal(r.code, 4);
  assert.match(r.err, /\[ERR_CONFIG_INCLUDE_MISSING\]\n/);
}));

test('--dump-config prints the compiled model as JSON on stdout (warnings on stderr), nothing for a bad file', withDir(async (dir) => {
  const good = join(dir, 'good.conf');
  writeFileSync(good, GOOD.replace('protocol TCP', 'protocol TCP\n    protocol TCP'));
  const r = await lvsd('--dump-config', '-f', good);
  assert.equal(r.code, 0);
  const expected = loadConfigFile(good);
  assert.ok(expected.ok);
  assert.deepEqual(JSON.parse(r.out), JSON.parse(JSON.stringify(expected.model)));
  assert.equal(JSON.parse(r.out).virtualServers['tcp:198.18.0.10:80'].realServers['198.18.1.1:80'].weight, 3);
  assert.match(r.err, /^.*good\.conf:7:5: warning: virtual_server\[198\.18\.0\.10 80\]\.protocol: .*\[WARN_CONFIG_REPEATED\]\n$/);

  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, 'global_defs {\n');
  const b = await lvsd('--dump-config', '-f', bad);
  assert.equal(b.code, 5);
  assert.equal(b.out, '');
  assert.match(b.err, /\[ERR_CONFIG_SYNTAX\]\n.*1 error\(s\), configuration rejected\n$/);
}));

test('usage: bad options exit 2, --help and --version 0', async () => {
  const u = await lvsd('--frobnicate');
  assert.equal(u.code, 2);
  assert.match(u.err, /^lvsd: Unknown option '--frobnicate'/);
  assert.equal((await lvsd('--log-format', 'xml', '-t')).code, 2);
  const h = await lvsd('--help');
  assert.equal(h.code, 0);
  assert.match(h.out, /^usage: lvsd \[options\]/);
  const v = await lvsd('--version');
  assert.equal(v.code, 0);
  assert.match(v.out, /^lvsd \d+\.\d+\.\d+\n$/);
});
