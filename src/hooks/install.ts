/** Writes and removes the hook scripts of a HOOK_TARGETS entry under a root directory. */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badInput } from '../errors.js';
import { findTarget, HOOK_TARGETS, type HookTarget } from './targets.js';

/** Every script we write carries this, so uninstall never removes a file it did not write. */
export const HOOK_MARKER = 'statekill-hook:';

// Scripts ship in src/hooks (package.json "files"); this resolves from src/ and dist/ alike.
const SCRIPTS_DIR = fileURLToPath(new URL('../../src/hooks/', import.meta.url));

export interface InstallOptions {
  root: string;
  /** statekill as the firewall runs it */
  statekill: string;
  config: string;
  log: string;
}

function target(name: string): HookTarget {
  const t = findTarget(name);
  if (!t) throw badInput(`hook: unknown target '${name}' (known: ${HOOK_TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}

function isOurs(path: string): boolean {
  try {
    return readFileSync(path, 'utf8').includes(HOOK_MARKER);
  } catch {
    return false;
  }
}

/** Returns one line per file touched. */
export function installHook(name: string, o: InstallOptions): string[] {
  const done: string[] = [];
  for (const f of target(name).files) {
    const dest = join(o.root, f.dest);
    const preserve = f.preserve ? join(o.root, f.preserve) : undefined;
    if (preserve && existsSync(dest) && !isOurs(dest)) {
      if (existsSync(preserve)) throw badInput(`hook: both ${dest} and ${preserve} exist and neither is statekill's; resolve by hand`);
      renameSync(dest, preserve);
      done.push(`moved ${dest} to ${preserve}`);
    }
    const text = readFileSync(join(SCRIPTS_DIR, f.source), 'utf8')
      .replaceAll('@STATEKILL@', o.statekill)
      .replaceAll('@CONFIG@', o.config)
      .replaceAll('@LOG@', o.log)
      .replaceAll('@ORIGINAL@', f.preserve ? `/${f.preserve}` : '');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, text);
    chmodSync(dest, f.mode);
    done.push(`wrote ${dest} (mode ${f.mode.toString(8)})`);
  }
  return done;
}

export function uninstallHook(name: string, root: string): string[] {
  const done: string[] = [];
  for (const f of target(name).files) {
    const dest = join(root, f.dest);
    const preserve = f.preserve ? join(root, f.preserve) : undefined;
    if (existsSync(dest)) {
      if (!isOurs(dest)) {
        done.push(`left ${dest}: not written by statekill`);
        continue;
      }
      rmSync(dest);
      done.push(`removed ${dest}`);
    }
    if (preserve && existsSync(preserve)) {
      renameSync(preserve, dest);
      done.push(`restored ${dest} from ${preserve}`);
    }
  }
  if (!done.length) done.push(`nothing to remove for ${name} under ${root}`);
  return done;
}
