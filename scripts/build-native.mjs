// Builds the addon from source with npm's own node-gyp: configure (cheap; picks up new native/*.cc
// files), then an incremental build. Headers and make come from native-toolchain.mjs (offline: the
// installed Node's own headers; gmake on FreeBSD). `--clean` does a full rebuild. Concurrent builds
// in one checkout are serialised with flock.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { buildNeeds, chooseToolchain } from './native-toolchain.mjs';

const require = createRequire(import.meta.url);
const choice = chooseToolchain({ platform: process.platform, execPath: process.execPath, env: process.env, exists: existsSync });
const onPath = (cmd) => spawnSync('sh', ['-c', 'command -v "$0"', cmd], { stdio: 'ignore' }).status === 0;
const missing = [choice.make, process.env.CXX || 'c++'].filter((t) => !onPath(t));
if (missing.length) {
  console.error(`statekill: building the native addon from source needs ${buildNeeds(process.platform)}; ` +
    `not found: ${missing.join(', ')}. (Or install a prebuilt addon: README, "Install".)`);
  process.exit(1);
}
if (!choice.nodedir)
  console.error('statekill: no Node headers found next to node or in the usual places; node-gyp will try to download them');

const extra = [];
if (choice.nodedir) extra.push(`--nodedir=${choice.nodedir}`);
if (process.env.STATEKILL_DEBUG_BUILD) extra.push('--debug');

function nodeGypBin() {
  // npm bundles node-gyp; npm_config_node_gyp points at it when run from an npm script.
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  try { return require.resolve('node-gyp/bin/node-gyp.js'); } catch { /* fall through */ }
  const npmDir = path.dirname(path.dirname(process.execPath));
  return path.join(npmDir, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
}

const gyp = nodeGypBin();
const steps = process.argv.includes('--clean') ? [['rebuild']] : [['configure'], ['build']];
const haveFlock = onPath('flock');
const env = { ...process.env, MAKE: choice.make };
mkdirSync('build', { recursive: true });
for (const step of steps) {
  const cmd = [process.execPath, gyp, ...step, ...extra];
  const r = haveFlock
    ? spawnSync('flock', ['.build.lock', ...cmd], { stdio: 'inherit', env })
    : spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
