/** Where a source build finds Node's headers and which make it runs, per platform (no FreeBSD here: pure function). */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs build script, no types
import { buildNeeds, chooseToolchain } from '../scripts/native-toolchain.mjs';

const has = (...files: string[]) => (p: string) => files.includes(p);

describe('chooseToolchain', () => {
  it('FreeBSD: the node package\'s headers under /usr/local/include/node, and gmake', () => {
    expect(chooseToolchain({ platform: 'freebsd', execPath: '/usr/local/bin/node', env: {},
      exists: has('/usr/local/include/node/node_api.h') })).toEqual({ nodedir: '/usr/local', make: 'gmake' });
  });

  it('FreeBSD with node elsewhere still finds /usr/local/include/node', () => {
    expect(chooseToolchain({ platform: 'freebsd', execPath: '/opt/node/bin/node', env: {},
      exists: has('/usr/local/include/node/node_api.h') }).nodedir).toBe('/usr/local');
  });

  it('Debian: /usr/include/node (offline), make', () => {
    expect(chooseToolchain({ platform: 'linux', execPath: '/usr/bin/node', env: {},
      exists: has('/usr/include/node/node_api.h') })).toEqual({ nodedir: '/usr', make: 'make' });
  });

  it('an official tarball install: the headers beside its bin/node win', () => {
    expect(chooseToolchain({ platform: 'linux', execPath: '/opt/node-v20/bin/node', env: {},
      exists: has('/opt/node-v20/include/node/node_api.h', '/usr/include/node/node_api.h') }).nodedir).toBe('/opt/node-v20');
  });

  it('npm_config_nodedir and MAKE, when set, are used as they are', () => {
    expect(chooseToolchain({ platform: 'freebsd', execPath: '/usr/local/bin/node', env: { npm_config_nodedir: '/x', MAKE: 'mymake' },
      exists: has('/usr/local/include/node/node_api.h') })).toEqual({ nodedir: '/x', make: 'mymake' });
  });

  it('no headers anywhere: no nodedir (node-gyp would download them)', () => {
    expect(chooseToolchain({ platform: 'linux', execPath: '/usr/bin/node', env: {}, exists: () => false }))
      .toEqual({ nodedir: undefined, make: 'make' });
  });

  it('other BSDs need gmake too', () => {
    expect(chooseToolchain({ platform: 'openbsd', execPath: '/usr/local/bin/node', env: {}, exists: () => false }).make).toBe('gmake');
  });

  it('says what to install', () => {
    expect(buildNeeds('freebsd')).toMatch(/gmake/);
    expect(buildNeeds('linux')).toMatch(/g\+\+.*make.*python3/);
  });
});
