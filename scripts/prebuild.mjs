// `npm run prebuild`: one addon for this platform and architecture, for every Node >= 20 (N-API 8),
// into prebuilds/<platform>-<arch>/statekill[.<libc>].node, where the loader and the install step
// look first. A FreeBSD prebuild must be built on FreeBSD (README, "Install"). Headers and make as for
// a source build (offline). package.json has no plain `build` script on purpose: npm would run this
// one as its pre-hook (`build:all` builds addon and TypeScript).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chooseToolchain } from './native-toolchain.mjs';

/** musl or glibc, by musl's dynamic loader (OpenWrt has no /etc/alpine-release, prebuildify's test). */
function linuxLibc() {
  return readdirSync('/lib').some((f) => f.startsWith('ld-musl-')) ? 'musl' : 'glibc';
}

const require = createRequire(import.meta.url);
const choice = chooseToolchain({ platform: process.platform, execPath: process.execPath, env: process.env, exists: existsSync });
const env = { ...process.env, MAKE: choice.make };
if (choice.nodedir) env.npm_config_nodedir = choice.nodedir;
// --tag-libc (Linux): a glibc build must not be picked on musl (OpenWrt, Alpine), nor the other way round.
// --target: the running Node's headers (N-API 8 makes the result fit every Node >= 20 all the same).
const args = [require.resolve('prebuildify/bin.js'), '--napi', '--strip', '--target', process.versions.node,
  ...(process.platform === 'linux' ? ['--tag-libc', linuxLibc()] : []), ...process.argv.slice(2)];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env });
process.exit(r.status ?? 1);
