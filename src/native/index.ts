/** Loads the addon (build/Release, else build/Debug) and registers StatekillError with it. */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StatekillError } from '../errors.js';
import type { NativeAddon } from './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

function locate(): string {
  const override = process.env.STATEKILL_ADDON;
  if (override) return override;
  for (const dir of ['build/Release', 'build/Debug']) {
    const p = path.join(root, dir, 'statekill.node');
    if (existsSync(p)) return p;
  }
  throw new StatekillError(
    `statekill's native addon is not built (looked in ${root}/build): run \`npm install\` or \`npm run build:native\``,
    2,
    'ENOENT',
  );
}

const require = createRequire(import.meta.url);
export const native: NativeAddon = require(locate());
native.setErrorClass(StatekillError);
