/**
 * The package as users get it: `npm pack`, then `npm install ./statekill-x.tgz` into a fresh folder
 * (offline headers: npm_config_nodedir), once with no prebuild (the install builds from source) and
 * once with a prebuild for this platform (the install compiles nothing). Each install is used from
 * ESM and from CommonJS, `statekill/policy` imports with the addon missing, and the CLI runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const TMP = mkdtempSync(join(tmpdir(), 'sk-pkg-'));
const ENV = { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr', npm_config_audit: 'false', npm_config_fund: 'false' };
const PLATFORM_DIR = `${process.platform}-${process.arch}`;

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Packs the checkout, then repacks it with `prebuilds/` as given (none, or this platform's). */
function tarball(name: string, prebuild: boolean): string {
  const stage = join(TMP, `stage-${name}`);
  mkdirSync(stage);
  const packed = npm(['pack', '--ignore-scripts', '--pack-destination', stage, '--json'], ROOT);
  const file = JSON.parse(packed)[0].filename as string;
  execFileSync('tar', ['-xzf', join(stage, file), '-C', stage]);
  const pkg = join(stage, 'package');
  rmSync(join(pkg, 'prebuilds'), { recursive: true, force: true });
  if (prebuild) {
    mkdirSync(join(pkg, 'prebuilds', PLATFORM_DIR), { recursive: true });
    copyFileSync(join(ROOT, 'build/Release/statekill.node'), join(pkg, 'prebuilds', PLATFORM_DIR, 'statekill.glibc.node'));
  }
  const repacked = JSON.parse(npm(['pack', '--ignore-scripts', '--pack-destination', stage, '--json'], pkg))[0].filename as string;
  return join(stage, repacked);
}

/** A fresh consumer project with the tarball installed; the install's output is returned too. */
function install(name: string, tgz: string): { dir: string; log: string } {
  const dir = join(TMP, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, version: '1.0.0' }));
  const r = spawnSync('npm', ['install', '--prefer-offline', '--foreground-scripts', tgz], { cwd: dir, env: ENV, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm install failed: ${r.stdout}\n${r.stderr}`);
  return { dir, log: r.stdout + r.stderr };
}

const ESM = `
import { openTable, isStatekillError } from 'statekill';
const t = await openTable({ sim: { generate: { states: 2000, seed: 1 } } });
const { report } = await t.kill([{ gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }]);
await t.close();
console.log(JSON.stringify({ killed: report.killed, helper: typeof isStatekillError }));
`;
const CJS = `
const sk = require('statekill');
(async () => {
  const t = await sk.openTable({ sim: { generate: { states: 2000, seed: 1 } } });
  const { report } = await t.kill([{ gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }]);
  await t.close();
  const e = new sk.StatekillError('x');
  console.log(JSON.stringify({ killed: report.killed, sameClass: sk.isStatekillError(e) }));
})();
`;
// The pure decision code, with the addon unloadable: config, decide.
const POLICY = `
import { loadConfig, decide, emptyState, parseStatusWord } from 'statekill/policy';
const config = loadConfig(${JSON.stringify(join(ROOT, 'test/fixtures/policy/dual-wan.yaml'))});
const r = decide({ config, event: { gateway: 'WAN1', status: parseStatusWord('down') }, previous: emptyState(), now: Date.now() });
const main = await import('statekill'); // the main entry imports too: the addon loads on first use only
let noAddon = '';
try { await main.openTable({ sim: { generate: { states: 10 } } }); } catch (e) { noAddon = e.code; }
console.log(JSON.stringify({ gateways: config.gateways.length, decisions: r.decisions.length > 0, noAddon }));
`;

function run(dir: string, file: string, body: string, env: Record<string, string> = {}): string {
  writeFileSync(join(dir, file), body);
  return execFileSync(process.execPath, [file], { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8' }).trim();
}

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe.each([
  { name: 'source-build', prebuild: false },
  { name: 'prebuilt', prebuild: true },
])('npm install of the packed tarball ($name)', ({ name, prebuild }) => {
  let dir = '';
  let log = '';
  beforeAll(() => {
    ({ dir, log } = install(name, tarball(name, prebuild)));
  }, 900_000);

  it(prebuild ? 'uses the prebuild: nothing is compiled' : 'builds the addon from source, offline', () => {
    const pkg = join(dir, 'node_modules/statekill');
    if (prebuild) {
      expect(log).toContain(`statekill: using the prebuilt addon prebuilds/${PLATFORM_DIR}/statekill.glibc.node`);
      expect(existsSync(join(pkg, 'build'))).toBe(false);
    } else {
      expect(existsSync(join(pkg, 'prebuilds'))).toBe(false);
      expect(readdirSync(join(pkg, 'build/Release'))).toContain('statekill.node');
    }
  });

  it('works from ESM and from CommonJS (require)', () => {
    const esm = JSON.parse(run(dir, 'use.mjs', ESM));
    expect(esm.killed).toBeGreaterThan(0);
    expect(esm.helper).toBe('function');
    expect(JSON.parse(run(dir, 'use.cjs', CJS))).toEqual({ killed: esm.killed, sameClass: true });
  });

  it('statekill/policy (and the main entry) import with the addon missing', () => {
    const out = JSON.parse(run(dir, 'policy.mjs', POLICY, { STATEKILL_ADDON: join(dir, 'no-such-addon.node') }));
    expect(out).toEqual({ gateways: 4, decisions: true, noAddon: 'E_NO_ADDON' });
  });

  it('the library needs none of the CLI-only dependencies (commander, pino)', () => {
    const mods = join(dir, 'node_modules');
    const cliOnly = ['commander', 'pino'];
    for (const m of cliOnly) renameSync(join(mods, m), join(mods, `${m}.hidden`));
    try {
      expect(JSON.parse(run(dir, 'use2.mjs', ESM)).killed).toBeGreaterThan(0);
      expect(JSON.parse(run(dir, 'use2.cjs', CJS)).sameClass).toBe(true);
    } finally {
      for (const m of cliOnly) renameSync(join(mods, `${m}.hidden`), join(mods, m));
    }
  });

  it('the statekill command runs', () => {
    const v = execFileSync(join(dir, 'node_modules/.bin/statekill'), ['--version'], { encoding: 'utf8' });
    expect(v.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
