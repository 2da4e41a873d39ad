/**
 * Loading the library (dist/, as installed): importing loads no native code, `statekill/policy` is pure,
 * and require() gives the very same module as import. The packed-tarball version of these checks is
 * test/package.test.ts; this one runs in a second.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const TMP = mkdtempSync(join(tmpdir(), 'sk-load-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function node(file: string, body: string, env: Record<string, string> = {}): unknown {
  writeFileSync(join(TMP, file), body);
  return JSON.parse(execFileSync(process.execPath, [join(TMP, file)], { env: { ...process.env, ...env }, encoding: 'utf8' }));
}

describe('loading statekill', () => {
  it('the main entry and statekill/policy import with the addon missing; first use says E_NO_ADDON', () => {
    const out = node('missing.mjs', `
      const policy = await import(${JSON.stringify(join(ROOT, 'dist/policy/index.js'))});
      const main = await import(${JSON.stringify(join(ROOT, 'dist/index.js'))});
      let err;
      try { await main.openTable({ sim: { generate: { states: 10 } } }); } catch (e) { err = { code: e.code, cls: main.isStatekillError(e) }; }
      console.log(JSON.stringify({ decide: typeof policy.decide, parseConfig: typeof policy.parseConfig, err }));
    `, { STATEKILL_ADDON: join(TMP, 'no-such-addon.node') });
    expect(out).toEqual({ decide: 'function', parseConfig: 'function', err: { code: 'E_NO_ADDON', cls: true } });
  });

  it('require() returns the same module instance as import (one StatekillError class)', () => {
    const out = node('both.cjs', `
      const viaRequire = require(${JSON.stringify(join(ROOT, 'dist/require.cjs'))});
      import(${JSON.stringify(join(ROOT, 'dist/index.js'))}).then((viaImport) => {
        console.log(JSON.stringify({ same: viaImport.StatekillError === viaRequire.StatekillError, openTable: typeof viaRequire.openTable }));
      });
    `);
    expect(out).toEqual({ same: true, openTable: 'function' });
  });

  it('package.json exports: ".", "./policy" (and require/default conditions) point at built files', async () => {
    const pkg = (await import('../package.json', { with: { type: 'json' } })).default as unknown as { exports: Record<string, Record<string, string>> };
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', require: './dist/require.cjs', default: './dist/index.js' });
    expect(pkg.exports['./policy']).toEqual({ types: './dist/policy/index.d.ts', default: './dist/policy/index.js' });
  });
});
