/**
 * The native addon, loaded on first use (importing statekill loads no native code): STATEKILL_ADDON
 * (a .node file) if set, else what node-gyp-build finds: build/Release, build/Debug, then a prebuilt
 * prebuilds/<platform>-<arch>/statekill.napi*.node. The loader registers StatekillError with it.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StatekillError } from '../errors.js';
import type { NativeAddon } from './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const require = createRequire(import.meta.url);

function locate(): string {
  const override = process.env.STATEKILL_ADDON;
  if (override) return override;
  // node-gyp-build knows musl only from /etc/alpine-release or LIBC, and OpenWrt has neither: tell it,
  // by musl's dynamic loader, before node-gyp-build is first loaded (it reads LIBC then).
  if (process.platform === 'linux' && !process.env.LIBC)
    process.env.LIBC = readdirSync('/lib').some((f) => f.startsWith('ld-musl-')) ? 'musl' : 'glibc';
  try {
    return (require('node-gyp-build') as { resolve(dir: string): string }).resolve(root);
  } catch {
    throw new StatekillError(`statekill's native addon is neither built nor prebuilt for ${process.platform}-${process.arch} ` +
      `(looked in ${root}/build and ${root}/prebuilds): run \`npm run build:native\` (README, "Install")`, 2, 'E_NO_ADDON');
  }
}

let addon: NativeAddon | undefined;

/** The addon, loading it now if this is the first use. */
export function loadNative(): NativeAddon {
  if (addon) return addon;
  const file = locate();
  let loaded: NativeAddon;
  try {
    loaded = require(file);
  } catch (e) {
    throw new StatekillError(`statekill's native addon ${file} does not load: ${(e as Error).message.split('\n')[0]}`, 2, 'E_NO_ADDON');
  }
  loaded.setErrorClass(StatekillError);
  addon = loaded;
  return addon;
}

/** `native.fn(...)` loads the addon on the first call of any of its functions. */
// Every trap goes to the loaded addon, so spying on or replacing a function (tests) reaches it too.
export const native: NativeAddon = new Proxy({} as NativeAddon, {
  get: (_t, key) => Reflect.get(loadNative(), key),
  set: (_t, key, value) => Reflect.set(loadNative(), key, value),
  has: (_t, key) => Reflect.has(loadNative(), key),
  defineProperty: (_t, key, desc) => Reflect.defineProperty(loadNative(), key, desc),
  deleteProperty: (_t, key) => Reflect.deleteProperty(loadNative(), key),
  getOwnPropertyDescriptor: (_t, key) => Reflect.getOwnPropertyDescriptor(loadNative(), key),
  ownKeys: () => Reflect.ownKeys(loadNative()),
});
