// Where the Node headers and which make a source build uses, decided from plain inputs (platform,
// node's path, environment, a file-exists test) so it is unit-tested for platforms this machine is
// not (test/native-toolchain.test.ts).
//
// Headers: node-gyp downloads them unless told a --nodedir, and firewalls and CI are offline. A Node
// install keeps them under <prefix>/include/node: the official tarballs (prefix = the folder above
// bin/node), Debian's nodejs (/usr), FreeBSD's www/node* packages (/usr/local/include/node).
// make: gyp writes GNU makefiles; BSD make cannot run them, so BSDs need GNU make as `gmake`
// (node-gyp's lib/build.js picks `gmake` on *bsd itself; we say so up front and check it exists).
import path from 'node:path';

const HEADER = path.join('include', 'node', 'node_api.h');

/** Known header prefixes per platform, after the running node's own prefix. */
const PLATFORM_PREFIXES = {
  linux: ['/usr', '/usr/local'],
  freebsd: ['/usr/local', '/usr'],
};

/**
 * @param {{ platform: string, execPath: string, env: Record<string, string | undefined>,
 *           exists: (p: string) => boolean }} input
 * @returns {{ nodedir?: string, make: string }}
 */
export function chooseToolchain({ platform, execPath, env, exists }) {
  let nodedir = env.npm_config_nodedir || undefined;
  if (!nodedir) {
    const own = path.dirname(path.dirname(execPath)); // /usr/local/bin/node -> /usr/local
    const candidates = [own, ...(PLATFORM_PREFIXES[platform] ?? [])];
    nodedir = candidates.find((p) => exists(path.join(p, HEADER)));
  }
  const bsd = platform.includes('bsd') || platform === 'dragonfly';
  const make = env.MAKE || (bsd ? 'gmake' : 'make');
  return { nodedir, make };
}

/** What a source build needs on this platform (the message when something is missing). */
export function buildNeeds(platform) {
  if (platform === 'freebsd') return 'a C++ compiler (base clang), gmake and python3: `pkg install gmake python3`';
  return 'g++, make and python3 (Debian/Ubuntu: `apt-get install g++ make python3`)';
}
