// Builds the addon with npm's own node-gyp: configure (cheap; picks up new native/*.cc files),
// then an incremental build. Offline machines need --nodedir pointing at installed Node headers
// (Debian ships them in /usr/include/node), else node-gyp tries to download them.
// `--clean` does a full rebuild. Concurrent builds in one checkout are serialised with flock.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const extra = [];
const nodedir = process.env.npm_config_nodedir
  || (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
if (nodedir) extra.push(`--nodedir=${nodedir}`);
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
const haveFlock = spawnSync('sh', ['-c', 'command -v flock'], { stdio: 'ignore' }).status === 0;
mkdirSync('build', { recursive: true });
for (const step of steps) {
  const cmd = [process.execPath, gyp, ...step, ...extra];
  const r = haveFlock
    ? spawnSync('flock', ['.build.lock', ...cmd], { stdio: 'inherit' })
    : spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
