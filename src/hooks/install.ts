/**
 * Writes, removes and checks the hook scripts of a HOOK_TARGETS entry under a root directory.
 * Installed values are data: each is single-quoted for sh, the script is assembled by token without
 * replacement patterns, and `sh -n` must accept it before it replaces anything. Install and
 * uninstall are idempotent (run install again after a firewall upgrade).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badInput } from '../errors.js';
import { loadConfig } from '../policy/config.js';
import { makeDirs } from '../policy/files.js';
import { findTarget, HOOK_TARGETS, type HookTarget } from './targets.js';

/** Every script we write carries this, so uninstall never removes a file it did not write. */
export const HOOK_MARKER = 'statekill-hook:';
const VALUES_MARKER = '# statekill-hook-values: ';

// Scripts ship in src/hooks (package.json "files"); this resolves from src/ and dist/ alike.
const SCRIPTS_DIR = fileURLToPath(new URL('../../src/hooks/', import.meta.url));

export interface InstallOptions {
  root: string;
  /** statekill as the firewall runs it */
  statekill: string;
  config: string;
  /** Install even if the binary or config do not check out (e.g. installed later). */
  force?: boolean;
  /**
   * Run `statekill doctor` on this box before installing a pf hook (default: only when installing
   * into `/`, i.e. on the firewall itself; a staging root is not the box the hook will run on).
   */
  doctor?: boolean;
}

export interface HookValues {
  statekill: string;
  config: string;
}

function target(name: string): HookTarget {
  const t = findTarget(name);
  if (!t) throw badInput(`hook: unknown target '${name}' (known: ${HOOK_TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}

/** An empty or relative root would install relative to the working directory. */
export function checkRoot(root: string): string {
  if (root === '' || !isAbsolute(root)) throw badInput(`hook: --root must be an absolute directory, got '${root}'`);
  return root;
}

function isOurs(path: string): boolean {
  try {
    return readFileSync(path, 'utf8').includes(HOOK_MARKER);
  } catch {
    return false;
  }
}

/** One sh word: single quotes, each `'` written as `'\''`. Any byte string survives. */
export function shellQuote(value: string): string {
  return `'${value.split("'").join(`'\\''`)}'`;
}

/** `@NAME@` tokens replaced by a function (no `$&`-style patterns); an unknown token is an error. */
export function fillTemplate(text: string, values: Record<string, string>): string {
  return text
    .split(/(@[A-Z]+@)/)
    .map((part) => {
      const m = /^@([A-Z]+)@$/.exec(part);
      if (!m) return part;
      if (!(m[1] in values)) throw new Error(`hook template: unknown token ${part}`);
      return values[m[1]];
    })
    .join('');
}

function script(source: string, v: HookValues): string {
  const text = readFileSync(join(SCRIPTS_DIR, source), 'utf8');
  // The values line is a comment: JSON keeps newlines and quotes escaped on one line.
  return fillTemplate(text, { STATEKILL: shellQuote(v.statekill), CONFIG: shellQuote(v.config), VALUES: JSON.stringify(v) });
}

function checkSyntax(file: string): void {
  const r = spawnSync('sh', ['-n', file], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw badInput(`hook: the generated script does not pass sh -n (not installed): ${(r.stderr || r.error?.message || '').trim()}`);
}

/** What is wrong with the binary and config the hook will run, under `root`; empty when fine. */
export function checkValues(t: HookTarget, root: string, v: HookValues): string[] {
  const problems: string[] = [];
  if (!isAbsolute(v.statekill)) problems.push(`--bin ${v.statekill} is not an absolute path`);
  else {
    const bin = join(root, v.statekill);
    try {
      accessSync(bin, constants.X_OK);
      if (!statSync(bin).isFile()) problems.push(`${bin} is not a file`);
    } catch {
      problems.push(`${bin} is missing or not executable`);
    }
  }
  if (t.usesConfig) {
    if (!isAbsolute(v.config)) problems.push(`--config ${v.config} is not an absolute path`);
    else
      try {
        loadConfig(join(root, v.config));
      } catch (e) {
        problems.push((e as Error).message);
      }
  }
  return problems;
}

/**
 * `statekill doctor --json` with the binary the hook will run: a pf hook is installed only on a box
 * whose kernel passes it (issue 12). Returns the problems, empty when it passed.
 */
export function doctorProblems(t: HookTarget, o: InstallOptions, root: string): string[] {
  if (!t.pfKernel || !(o.doctor ?? root === '/')) return [];
  const r = spawnSync(join(root, o.statekill), ['doctor', '--json'], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) return [`statekill doctor did not run: ${r.error.message}`];
  if (r.status === 0) return [];
  let reasons: string[] = [];
  try {
    reasons = (JSON.parse(r.stdout) as { reasons?: string[] }).reasons ?? [];
  } catch {
    reasons = [r.stderr.trim().split('\n')[0] ?? ''].filter(Boolean);
  }
  return [`statekill doctor failed on this box (exit ${r.status ?? r.signal}): ${reasons.join('; ') || 'no reason given'}`];
}

/** Returns one line per file touched. */
export function installHook(name: string, o: InstallOptions): string[] {
  const t = target(name);
  const root = checkRoot(o.root);
  const values: HookValues = { statekill: o.statekill, config: o.config };
  const valueProblems = checkValues(t, root, values);
  // The doctor runs the binary: only once the binary checks out.
  const problems = valueProblems.length ? valueProblems : doctorProblems(t, o, root);
  if (problems.length && !o.force) throw badInput(`hook: not installed: ${problems.join('; ')} (--force installs anyway)`);
  const done: string[] = problems.map((p) => `warning: ${p}`);
  for (const f of t.files) {
    const dest = join(root, f.dest);
    if (existsSync(dest) && !isOurs(dest)) throw badInput(`hook: ${dest} exists and is not statekill's; not replaced`);
  }
  for (const f of t.files) {
    const dest = join(root, f.dest);
    makeDirs(dirname(dest), 'hook');
    const tmp = `${dest}.statekill-new`;
    writeFileSync(tmp, script(f.source, values), { mode: 0o600 });
    try {
      checkSyntax(tmp);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    chmodSync(tmp, f.mode);
    renameSync(tmp, dest);
    done.push(`wrote ${dest} (mode ${f.mode.toString(8)})`);
  }
  for (const l of t.legacy ?? []) done.push(...removeLegacy(root, l.dest, l.preserved));
  return done;
}

function removeLegacy(root: string, destRel: string, preservedRel?: string): string[] {
  const dest = join(root, destRel);
  const kept = preservedRel ? join(root, preservedRel) : undefined;
  if (!existsSync(dest) || !isOurs(dest)) return [];
  if (kept && existsSync(kept)) {
    renameSync(kept, dest);
    return [`restored ${dest} from ${kept} (an earlier statekill's wrapper)`];
  }
  rmSync(dest);
  return [`removed ${dest} (an earlier statekill's wrapper; the product's original was not kept)`];
}

export function uninstallHook(name: string, rootArg: string): string[] {
  const t = target(name);
  const root = checkRoot(rootArg);
  const done: string[] = [];
  for (const f of t.files) {
    const dest = join(root, f.dest);
    if (!existsSync(dest)) continue;
    if (!isOurs(dest)) {
      done.push(`left ${dest}: not written by statekill`);
      continue;
    }
    rmSync(dest);
    done.push(`removed ${dest}`);
  }
  for (const l of t.legacy ?? []) done.push(...removeLegacy(root, l.dest, l.preserved));
  if (!done.length) done.push(`nothing to remove for ${name} under ${root}`);
  return done;
}

/** What is installed, where, and whether the binary and config it points at are valid. */
export function hookStatus(name: string, rootArg: string): { ok: boolean; lines: string[] } {
  const t = target(name);
  const root = checkRoot(rootArg);
  const lines: string[] = [];
  let ok = true;
  for (const f of t.files) {
    const dest = join(root, f.dest);
    if (!existsSync(dest)) {
      lines.push(`${dest}: not installed`);
      ok = false;
      continue;
    }
    if (!isOurs(dest)) {
      lines.push(`${dest}: present but not statekill's`);
      ok = false;
      continue;
    }
    const text = readFileSync(dest, 'utf8');
    const line = text.split('\n').find((l) => l.startsWith(VALUES_MARKER));
    let v: HookValues | undefined;
    try {
      v = line ? (JSON.parse(line.slice(VALUES_MARKER.length)) as HookValues) : undefined;
    } catch {
      v = undefined;
    }
    if (!v || typeof v.statekill !== 'string' || typeof v.config !== 'string') {
      lines.push(`${dest}: installed by an older statekill (reinstall: statekill hook install ${name})`);
      ok = false;
      continue;
    }
    const mode = (statSync(dest).mode & 0o777).toString(8);
    const problems = checkValues(t, root, v);
    lines.push(`${dest}: installed (mode ${mode}), runs ${v.statekill}${t.usesConfig ? ` with config ${v.config}` : ''}: ${problems.length ? problems.join('; ') : t.usesConfig ? 'binary and config OK' : 'binary OK'}`);
    if (problems.length) ok = false;
  }
  for (const l of t.legacy ?? [])
    if (isOurs(join(root, l.dest))) {
      lines.push(`${join(root, l.dest)}: an earlier statekill's wrapper is still there (statekill hook install ${name} removes it)`);
      ok = false;
    }
  return { ok, lines };
}
