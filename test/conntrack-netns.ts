/**
 * Network namespaces for the conntrack tests: unique names per run, teardown that never throws,
 * and one probe that says why namespaces are unavailable (the only reason these tests skip).
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { native } from '../src/native/index.js';

const run = randomBytes(3).toString('hex');
const created = new Set<string>();

/** A namespace name unique to this test run: "skct<run><tag>". */
export function nsName(tag: string): string {
  return `skct${run}${tag}`;
}

export function sh(cmd: string, args: string[], opts: ExecFileSyncOptions = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts }) as string;
}

/** Runs `cmd args` inside namespace `ns`. */
export function inNs(ns: string, cmd: string, args: string[]): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
}

export function addNs(name: string): string {
  sh('ip', ['netns', 'add', name]);
  created.add(name);
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export function delNs(name: string): void {
  try {
    sh('ip', ['netns', 'del', name]);
  } catch {
    // already gone
  }
  created.delete(name);
}

export function delAllNs(): void {
  for (const n of [...created]) delNs(n);
}

/** Why network namespaces cannot be used here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root: creating network namespaces needs CAP_SYS_ADMIN';
  const probe = nsName('probe');
  try {
    addNs(probe);
    return null;
  } catch (e) {
    return `the kernel refused a network namespace: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    delNs(probe);
  }
}

/** Lists the names of this run's namespaces still present (for leak checks). */
export function leftoverNs(): string[] {
  const out = sh('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`skct${run}`));
}

/**
 * For a describe block: a namespace of its own, created before its tests with a ctnetlink socket in
 * it, and removed after them. `fd()` is the socket (valid inside tests).
 */
export function ctNamespace(tag: string): { ns: string; fd: () => number } {
  const ns = nsName(tag);
  let fd = -1;
  beforeAll(() => {
    addNs(ns);
    fd = native.ctOpen(ns);
  });
  afterAll(() => {
    if (fd >= 0) native.ctClose(fd);
    fd = -1;
    delAllNs();
  });
  return { ns, fd: () => fd };
}
