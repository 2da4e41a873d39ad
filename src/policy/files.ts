/**
 * Paths the policy and the hooks write as root: the memory file and the directories above it.
 * Anything but a regular file is refused before it is opened for reading, renamed or replaced
 * (`--state /dev/null` once renamed the null device and put a regular file in its place; a FIFO
 * blocks the read forever), and directories are made one level at a time (Node's recursive mkdir
 * loops forever where mkdir says ENOENT under an existing parent, as under /proc).
 */
import { mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { badInput } from '../errors.js';

export function describeKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Throws E_BAD_INPUT unless `path` is missing or a regular file (symbolic links followed). */
export function regularOrAbsent(path: string, what: string, must: string): void {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  if (!st.isFile()) throw badInput(`${what} ${path} is ${describeKind(st)}: ${must}`);
}

/** `mkdir -p`, one component at a time; a failure names the directory and its errno code. */
export function makeDirs(dir: string, what: string): void {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    let st: Stats | undefined;
    try {
      st = statSync(d);
    } catch {
      st = undefined;
    }
    if (st) {
      if (!st.isDirectory()) throw badInput(`${what}: ${d} is not a directory`);
      break;
    }
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      throw badInput(`${what}: cannot create directory ${d}: ${code ?? (e as Error).message}`);
    }
  }
}
