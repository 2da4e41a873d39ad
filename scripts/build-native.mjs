// Builds the addon with npm's own node-gyp. Offline machines need --nodedir pointing at
// installed Node headers (Debian ships them in /usr/include/node), else node-gyp downloads them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const args = ['rebuild'];
const nodedir = process.env.npm_config_nodedir
  || (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);
if (process.env.STATEKILL_DEBUG_BUILD) args.push('--debug');

function nodeGypBin() {
  // npm bundles node-gyp; npm_config_node_gyp points at it when run from an npm script.
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  try { return require.resolve('node-gyp/bin/node-gyp.js'); } catch { /* fall through */ }
  const npmDir = path.dirname(path.dirname(process.execPath));
  return path.join(npmDir, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
}

const r = spawnSync(process.execPath, [nodeGypBin(), ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
