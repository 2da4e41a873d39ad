// npm's install step. A prebuilt addon for this platform and architecture (prebuilds/<platform>-<arch>/,
// made by `npm run prebuild`) that loads is used as it is: nothing is compiled. Otherwise the addon is
// built from source (build-native.mjs). This is node-gyp-build's install rule; its source build is
// ours, so it finds offline headers and gmake. `npm_config_build_from_source=true` forces a build.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function loadablePrebuild() {
  if (process.env.npm_config_build_from_source === 'true') return undefined;
  process.env.PREBUILDS_ONLY = '1'; // node-gyp-build reads it when loaded: look past build/
  // node-gyp-build takes musl only from /etc/alpine-release or LIBC; OpenWrt has neither (same rule as src/native).
  if (process.platform === 'linux' && !process.env.LIBC)
    process.env.LIBC = readdirSync('/lib').some((f) => f.startsWith('ld-musl-')) ? 'musl' : 'glibc';
  let file;
  try { file = require('node-gyp-build').resolve(root); } catch { return undefined; }
  // Load it in a child: an addon that does not fit this system must not take the installer down.
  const probe = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (probe.status === 0) return file;
  console.error(`statekill: prebuilt addon ${path.relative(root, file)} does not load here; building from source\n${probe.stderr}`);
  return undefined;
}

const prebuilt = loadablePrebuild();
if (prebuilt) {
  console.error(`statekill: using the prebuilt addon ${path.relative(root, prebuilt)}`);
} else {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/build-native.mjs')], { stdio: 'inherit', cwd: root });
  process.exit(r.status ?? 1);
}
