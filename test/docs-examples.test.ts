/**
 * What the README and docs/ show a library user runs as written: their JS/TS code blocks, run as ES
 * modules importing 'statekill' (dist/, as installed) against the simulated kernel; and every code
 * statekill's errors carry has its row in README's "Errors and exit codes" table. (Command lines and
 * their options: test/cli-usage.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const TMP = mkdtempSync(join(tmpdir(), 'sk-docs-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
// A project that installed statekill: `import ... from 'statekill'` resolves to this checkout.
mkdirSync(join(TMP, 'node_modules'));
symlinkSync(ROOT, join(TMP, 'node_modules/statekill'), 'dir');

/** The first ```ts block after `heading` in `doc`. */
function codeBlock(doc: string, heading: string): string {
  const text = readFileSync(join(ROOT, doc), 'utf8');
  const from = text.indexOf(`\n${heading}\n`);
  expect(from, `${doc}: ${heading}`).toBeGreaterThan(-1);
  const m = /\n```ts\n([\s\S]*?)\n```/.exec(text.slice(from));
  expect(m, `${doc}: a ts block under ${heading}`).not.toBeNull();
  return m![1];
}

function runModule(name: string, code: string): string {
  writeFileSync(join(TMP, name), code);
  return execFileSync(process.execPath, [name], { cwd: TMP, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('code blocks run as written', () => {
  it("README's Library example: plan, progress events, execute with an AbortSignal, close", () => {
    // Its table file, states.jsonl: a fixture with states routed via 198.51.100.1.
    copyFileSync(join(ROOT, 'test/fixtures/scenarios/two-tier.jsonl'), join(TMP, 'states.jsonl'));
    const out = runModule('readme-library.mjs', codeBlock('README.md', '## Library'));
    expect(out).toMatch(/selected: [1-9]/); // plan.counts
    expect(out).toMatch(/^killed \{/m); // the report, logged
  });

  it("docs/netlink.md's backend choice, on a simulated FreeBSD 15 kernel", () => {
    const out = runModule('netlink.mjs', codeBlock('docs/netlink.md', '## How the path is chosen'));
    expect(out).toContain("read: 'netlink GETSTATES'");
  });
});

describe("README's error table", () => {
  it('has a row for every code of src/errors.ts that is statekill\'s own, and no row for a code that does not exist', () => {
    const errors = readFileSync(join(ROOT, 'src/errors.ts'), 'utf8');
    const union = errors.slice(errors.indexOf('export type StatekillErrorCode'), errors.indexOf('export class StatekillError'));
    const own = [...union.matchAll(/\| '([A-Z_0-9]+)'/g)].map((m) => m[1]);
    const errnos = errors.slice(errors.indexOf('export type ErrnoCode'), errors.indexOf('export type StatekillErrorCode'));
    const known = new Set([...own, ...[...errnos.matchAll(/'([A-Z0-9]+)'/g)].map((m) => m[1])]);
    expect(own).toContain('E_BAD_INPUT');
    expect(own).toContain('ABORT_ERR');

    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Errors and exit codes'), readme.indexOf('\n## ', readme.indexOf('### Errors and exit codes')));
    const rows = section.split('\n').filter((l) => l.startsWith('| `'));
    const listed = rows.flatMap((l) => [...l.split('|')[1].matchAll(/`([A-Z_0-9]+)`/g)].map((m) => m[1]));
    for (const code of own) expect(listed, `README's error table has no row for ${code}`).toContain(code);
    for (const code of listed) expect(known.has(code), `README lists ${code}, which src/errors.ts does not have`).toBe(true);
    // Exit codes the CLI uses (src/cli/main.ts, interrupt.ts): each has its row.
    for (const exit of ['0', '1', '2', '130, 143']) expect(section).toContain(`\n| ${exit} |`);
  });
});
