/**
 * The statekill CLI as a user runs it: `node bin/statekill.js ...` as a child process (dist/ must be
 * built: npm run build:ts). Exit codes 0 ok, 1 some kills failed, 2 bad input; bad input is one line
 * on stderr and no report on stdout (nothing was killed).
 *
 * Note: with --sim, the simulated kernel lives inside one process; the file is only its source. So a
 * `list` after a `kill` reads the file afresh: the tests compare what `kill` reports it killed with
 * what `list` shows for the same selection, and show the survivors as the table minus those.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSimKernel, openTable, parseCidr, plannedStates, saveTableFile } from '../src/index.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/statekill.js');
const TWO_TIER = join(ROOT, 'test/fixtures/scenarios/two-tier.jsonl');
const AMBIGUOUS = join(ROOT, 'test/fixtures/scenarios/ambiguous.jsonl');
const PORT_FORWARD = join(ROOT, 'test/fixtures/scenarios/port-forward.jsonl');
const TMP = mkdtempSync(join(tmpdir(), 'sk-cli-'));
const REPORT_KEYS = ['scanned', 'selected', 'paired', 'ambiguous', 'killed', 'alreadyGone', 'failed', 'dryRun', 'phasesMs', 'killPath', 'states'];
const id = (s: string) => `00000000000000${s}`;
const st = (s: string, reason: string) => ({ id: id(s), creatorid: '0badc0de', reason });

interface Run { code: number; stdout: string; stderr: string }

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The fixture's states as JSON objects (comment and blank lines skipped). */
function fixtureStates(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => JSON.parse(l));
}

const jsonLinesOf = (out: string) => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const escapeRe = (t: string) => t.replace(/[.*+?^$|()[\]{}\\]/g, '\\$&');
const idsOf = (out: string) => jsonLinesOf(out).map((s) => s.id as string);

afterAll(() => {
  rmSync(TMP, { recursive: true, force: true });
});

describe('statekill kill', () => {
  it('--dry-run --json prints exactly the report keys, in order, and kills nothing', async () => {
    const r = await cli('kill', '--sim', TWO_TIER, '--gateway', '198.51.100.1', '--dry-run', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('}\n')).toBe(true);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const o = JSON.parse(r.stdout);
    expect(Object.keys(o)).toEqual(REPORT_KEYS);
    expect(o).toMatchObject({ scanned: 9, selected: 2, paired: 2, ambiguous: 0, killed: 0, alreadyGone: 0, failed: 0, dryRun: true, killPath: null });
    expect(Object.keys(o.phasesMs)).toEqual(['read', 'select', 'pair', 'plan', 'kill']);
    for (const v of Object.values(o.phasesMs)) expect(typeof v).toBe('number');
    expect(o.states).toEqual([st('01', 'selected'), st('03', 'selected'), st('02', 'paired'), st('04', 'paired')]);

    // The table afterwards: all nine states, the file untouched.
    const before = readFileSync(TWO_TIER, 'utf8');
    const l = await cli('list', '--sim', TWO_TIER, '--json');
    expect(l.code).toBe(0);
    expect(idsOf(l.stdout)).toEqual(['01', '02', '03', '04', '05', '06', '07', '08', '09'].map(id));
    expect(readFileSync(TWO_TIER, 'utf8')).toBe(before);
  });

  it('a real kill reports exactly the killed states; list shows the same ones and the survivors', async () => {
    const r = await cli('kill', '--sim', TWO_TIER, '--gateway', '198.51.100.1', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(Object.keys(o)).toEqual(REPORT_KEYS);
    expect(o).toMatchObject({ scanned: 9, selected: 2, paired: 2, ambiguous: 0, killed: 4, alreadyGone: 0, failed: 0, dryRun: false });
    // pf's own gateway kill took all four (pf's rule pairs them), and the report says what that implies.
    expect(o.killPath).toEqual({ path: 'kernel-filter', filters: 1, planned: 4, counted: 4, countMatches: true, alsoKillsNewStates: true });
    expect(o.states).toEqual([st('01', 'selected'), st('03', 'selected'), st('02', 'paired'), st('04', 'paired')]);

    // list with the same selector (and --pair) names exactly what kill killed...
    const sel = await cli('list', '--sim', TWO_TIER, '--gateway', '198.51.100.1', '--pair', '--json');
    expect(sel.code).toBe(0);
    expect(idsOf(sel.stdout).sort()).toEqual(o.states.map((s: { id: string }) => s.id).sort());
    // ...and the survivors are the table minus those.
    const all = await cli('list', '--sim', TWO_TIER, '--json');
    const killed = new Set(o.states.map((s: { id: string }) => s.id));
    expect(idsOf(all.stdout).filter((x) => !killed.has(x))).toEqual(['05', '06', '07', '08', '09'].map(id));
  });

  it('the text report names the target and the counts', async () => {
    const r = await cli('kill', '--sim', TWO_TIER, '--gateway', '203.0.113.1');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(1, 8)).toEqual([
      'scanned:     9', 'selected:    1', 'paired:      1', 'ambiguous:   0', 'killed:      2', 'alreadyGone: 0', 'failed:      0',
    ]);
    expect(lines[0]).toMatch(/^target: {6}simulated pf/);
    expect(lines[8]).toBe("kill path:   pf's gateway kill for 2 planned states (1 request, kernel counted 2), the rest by id; " +
      'it also kills states created on the gateway after the read');
  });

  it("--kernel-rule-only: pf's own gateway kill, a count, and it says what it leaves", async () => {
    const PF = join(ROOT, 'test/fixtures/scenarios/port-forward.jsonl');
    const after = join(TMP, 'kernel-rule-only.jsonl');
    const r = await cli('kill', '--sim', PF, '--gateway', '198.51.100.1', '--kernel-rule-only', '--sim-save', after, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout);
    // 01 (IN on WAN1, reply-to) dies; its inside partner 02 is invisible to pf's rule and is left.
    expect(o).toMatchObject({ killed: 1, dryRun: false, killPath: { path: 'kernel-rule-only', filters: 1, kernelPath: 'DIOCKILLSTATESNV', alsoKillsNewStates: true } });
    expect(o.left).toMatch(/partners pf's rule cannot see are left/);
    const l = await cli('list', '--sim', after, '--json');
    expect(idsOf(l.stdout)).toEqual(['02', '03', '04'].map(id));
    // The planned kill takes 02 too (kernel+stack).
    const k = await cli('kill', '--sim', PF, '--gateway', '198.51.100.1', '--json');
    expect(JSON.parse(k.stdout)).toMatchObject({ killed: 2 });

    const t = await cli('kill', '--sim', PF, '--gateway', '198.51.100.1', '--kernel-rule-only');
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^killed: {6}1$/m);
    expect(t.stdout).toMatch(/^left: {8}partners pf's rule cannot see are left alive/m);
  });

  it('--kernel-rule-only --no-pair says every partner is left; an unscoped link-local gateway needs --force there too', async () => {
    const PF = join(ROOT, 'test/fixtures/scenarios/port-forward.jsonl');
    const r = await cli('kill', '--sim', PF, '--gateway', '198.51.100.1', '--kernel-rule-only', '--no-pair', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).left).toMatch(/^every partner is left alive/);
    const LL = join(ROOT, 'test/fixtures/scenarios/link-local.jsonl');
    const ll = await cli('kill', '--sim', LL, '--gateway', 'fe80::1', '--kernel-rule-only');
    expect(ll.code).toBe(2);
    expect(ll.stderr).toMatch(/link-local gateway is on every link/);
    const forced = await cli('kill', '--sim', LL, '--gateway', 'fe80::1', '--kernel-rule-only', '--force', '--json');
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).killed).toBeGreaterThan(0);
  });

  it('--kernel-rule-only refuses what pf\'s gateway kill cannot do exactly, and a 12.x kernel', async () => {
    for (const args of [['--nat-addr', '198.51.100.2'], ['--gateway', '198.51.100.1', '--proto', 'tcp'], ['--gateway', '198.51.100.1', '--dry-run']]) {
      const r = await cli('kill', '--sim', TWO_TIER, ...args, '--kernel-rule-only');
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^statekill: /);
    }
    const old = await cli('kill', '--sim', TWO_TIER, '--sim-version', '12', '--gateway', '198.51.100.1', '--kernel-rule-only');
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/cannot match a gateway with kill_match/);
  });

  it('--by-id kills the same states by id, and says so', async () => {
    const r = await cli('kill', '--sim', TWO_TIER, '--gateway', '198.51.100.1', '--by-id', '--json');
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(o).toMatchObject({ killed: 4, killPath: { path: 'by-id', reason: 'by id as asked' } });
  });

  it('nothing to kill is success: exit 0, killed 0', async () => {
    const r = await cli('kill', '--sim', TWO_TIER, '--gateway', '192.0.2.1', '--json');
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(o).toMatchObject({ scanned: 9, selected: 0, paired: 0, ambiguous: 0, killed: 0, alreadyGone: 0, failed: 0, dryRun: false });
    expect(o.states).toEqual([]);
  });

  it('--no-pair, --kill-ambiguous and --pair-rule kernel change the kill list as documented', async () => {
    const noPair = JSON.parse((await cli('kill', '--sim', TWO_TIER, '--gateway', '198.51.100.1', '--no-pair', '--json')).stdout);
    expect(noPair.states).toEqual([st('01', 'selected'), st('03', 'selected')]);
    expect(noPair.killed).toBe(2);

    const amb = JSON.parse((await cli('kill', '--sim', AMBIGUOUS, '--gateway', '198.51.100.1', '--json')).stdout);
    expect(amb).toMatchObject({ selected: 2, paired: 1, ambiguous: 2, killed: 3 });
    expect(amb.states).toEqual([st('01', 'selected'), st('04', 'selected'), st('05', 'paired'), st('02', 'ambiguous'), st('03', 'ambiguous')]);
    const ambKill = JSON.parse((await cli('kill', '--sim', AMBIGUOUS, '--gateway', '198.51.100.1', '--kill-ambiguous', '--json')).stdout);
    expect(ambKill).toMatchObject({ selected: 2, paired: 1, ambiguous: 2, killed: 5 });
    expect(ambKill.states).toEqual(amb.states);

    const stack = JSON.parse((await cli('kill', '--sim', PORT_FORWARD, '--gateway', '198.51.100.1', '--json')).stdout);
    expect(stack.states).toEqual([st('01', 'selected'), st('02', 'paired')]);
    const kernel = JSON.parse((await cli('kill', '--sim', PORT_FORWARD, '--gateway', '198.51.100.1', '--pair-rule', 'kernel', '--json')).stdout);
    expect(kernel.states).toEqual([st('01', 'selected')]);
  });
});

describe('bad input: exit 2, one line on stderr, no report, nothing killed', () => {
  const badJsonl = join(TMP, 'bad.jsonl');
  const good = readFileSync(TWO_TIER, 'utf8').split('\n').filter((l) => l.startsWith('{'));
  writeFileSync(badJsonl, ['# one good state, then a bad one', good[0], good[1].replace('"af":"inet"', '"af":"inet4"'), good[2]].join('\n'));
  const badAddr = join(TMP, 'bad-addr.jsonl');
  writeFileSync(badAddr, [good[0], good[1], good[2], good[3].replace('"8.8.8.8","198.51.100.2"', '"8.8.8.8","198.51.100.300"')].join('\n'));
  const notJson = join(TMP, 'not-json.jsonl');
  writeFileSync(notJson, [good[0], '{"id":"0000000000000002",'].join('\n'));

  const cases: [string, string[], string | RegExp][] = [
    ['an unparsable address', ['kill', '--sim', TWO_TIER, '--gateway', '198.51.100.999'],
      "statekill: --gateway: '198.51.100.999' is not an IPv4 or IPv6 address"],
    ['a prefix length out of range (/33)', ['kill', '--sim', TWO_TIER, '--gateway', '198.51.100.1/33'],
      "statekill: --gateway: prefix length 33 out of range 0-32 in '198.51.100.1/33'"],
    ['an IPv6 prefix length out of range (/129)', ['kill', '--sim', TWO_TIER, '--gateway', 'fe80::1/129'],
      "statekill: --gateway: prefix length 129 out of range 0-128 in 'fe80::1/129'"],
    ['an unknown flag', ['kill', '--sim', TWO_TIER, '--gateway', '198.51.100.1', '--bogus'],
      "error: unknown option '--bogus'"],
    ['an unreadable --sim file', ['kill', '--sim', join(TMP, 'missing.jsonl'), '--gateway', '198.51.100.1'],
      `statekill: cannot read table file ${join(TMP, 'missing.jsonl')}: ENOENT`],
    ['a malformed JSON Lines field (names the line and the field)', ['kill', '--sim', badJsonl, '--gateway', '198.51.100.1'],
      `statekill: ${badJsonl} line 3: field 'af': expected "inet" or "inet6", got "inet4"`],
    ['a bad address inside a key', ['kill', '--sim', badAddr, '--gateway', '198.51.100.1'],
      `statekill: ${badAddr} line 4: field 'key[0].addr[1]': expected an inet address, got "198.51.100.300"`],
    ['a line that is not JSON', ['kill', '--sim', notJson, '--gateway', '198.51.100.1'],
      // The parser's own words after 'not valid JSON' differ between Node versions.
      new RegExp(`^statekill: ${escapeRe(notJson)} line 2: not valid JSON \\(.+\\)$`)],
    ['--mark with the pf backend', ['kill', '--sim', TWO_TIER, '--mark', '1'],
      'statekill: --mark: applies to conntrack entries only; this is the pf backend'],
    ['no selector at all', ['kill', '--sim', TWO_TIER],
      'statekill: no selector given; refusing to select every state (pfctl -Fs or conntrack -F clears a whole table)'],
    ['a bad --pair-rule', ['kill', '--sim', TWO_TIER, '--gateway', '198.51.100.1', '--pair-rule', 'loose'],
      "statekill: --pair-rule: expected 'kernel' or 'kernel+stack'"],
  ];

  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await cli(...args);
      if (typeof message === 'string') {
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: '', stderr: `${message}\n` });
      } else {
        expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
        expect(r.stderr.endsWith('\n')).toBe(true);
        expect(r.stderr.split('\n')).toHaveLength(2);
        expect(r.stderr.trimEnd()).toMatch(message);
      }
    });
  }
});

describe('no /dev/pf', () => {
  const skip = existsSync('/dev/pf');
  it.skipIf(skip)('without --sim: a clear message suggesting --sim, non-zero exit, no fallback to the simulator', async () => {
    const message = 'statekill: cannot open /dev/pf: pf is not loaded (no such device; kldload pf). ' +
      'To run against the simulated kernel, name a table with --sim FILE (or try `statekill demo`)\n';
    for (const args of [['kill', '--gateway', '198.51.100.1', '--json'], ['list', '--json'], ['stats']]) {
      const r = await cli(...args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toBe(message);
      expect(r.stdout).toBe(''); // no report: nothing ran against a simulated table
    }
  });
});

describe('statekill demo', () => {
  it('demo --states 20000 --json: the report of killing GW_WAN1, identical to the library\'s plan of the same table', async () => {
    const r = await cli('demo', '--states', '20000', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(Object.keys(o)).toEqual(REPORT_KEYS);
    expect(o.scanned).toBe(20000);
    expect(o.dryRun).toBe(false);
    expect(o.failed).toBe(0);
    expect(o.alreadyGone).toBe(0);
    expect(o.killed).toBe(o.selected + o.paired);
    expect(o.states).toHaveLength(o.selected + o.paired + o.ambiguous);

    // The same table (seed 1) planned through the library gives the very same list.
    const table = await openTable({ sim: createSimKernel({ version: 14, compat14: true, generate: { states: 20000, seed: 1 } }) });
    try {
      const plan = await table.plan([{ gateways: [parseCidr('198.51.100.1')] }]);
      expect({ selected: o.selected, paired: o.paired, ambiguous: o.ambiguous }).toEqual(plan.counts);
      expect(o.states).toEqual([...plannedStates(plan)]);
      expect(plan.counts.ambiguous).toBeGreaterThan(0);
    } finally {
      await table.close();
    }
  });
});

describe('list and save round trips', () => {
  it('list --json round-trips: its output loaded back with --sim gives the same states', async () => {
    const first = await cli('list', '--sim', TWO_TIER, '--json');
    expect(first.code).toBe(0);
    expect(jsonLinesOf(first.stdout)).toEqual(fixtureStates(TWO_TIER));
    const copy = join(TMP, 'listed.jsonl');
    writeFileSync(copy, first.stdout);
    const second = await cli('list', '--sim', copy, '--json');
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
  });

  it('list --json round-trips a generated table (floating states, IPv6, NAT, reply-to)', async () => {
    const gen = join(TMP, 'generated.jsonl');
    const table = await openTable({ sim: createSimKernel({ generate: { states: 3000, seed: 9, profile: 'realistic' } }) });
    try {
      const snap = await table.snapshot();
      saveTableFile(gen, snap.bytes, snap.count, snap.layout, 'jsonl');
    } finally {
      await table.close();
    }
    const first = await cli('list', '--sim', gen, '--json');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(readFileSync(gen, 'utf8'));
    const states = jsonLinesOf(first.stdout);
    expect(states).toHaveLength(3000);
    expect(states.some((s) => s.ifname === 'all' && s.orig_ifname)).toBe(true);
    expect(states.some((s) => s.af === 'inet6')).toBe(true);
    expect(states.some((s) => s.rt === 'reply-to')).toBe(true);
    const copy = join(TMP, 'generated-listed.jsonl');
    writeFileSync(copy, first.stdout);
    const second = await cli('list', '--sim', copy, '--json');
    expect(second.stdout).toBe(first.stdout);
  });

  it('save --format pf-1301, then --sim of that dump: same states (without the 14.x route fields), same kill', async () => {
    const dump = join(TMP, 'two-tier.pf-1301');
    const s = await cli('save', '--sim', TWO_TIER, '--format', 'pf-1301', dump);
    expect(s.code).toBe(0);
    expect(s.stderr).toBe(`saved 9 states to ${dump} (pf-1301)\n`);
    expect(s.stdout).toBe('');
    expect(statSync(dump).size).toBe(9 * 242);

    const l = await cli('list', '--sim', dump, '--json');
    expect(l.code).toBe(0);
    // pfsync_state_1301 has rt_addr but not rt / rt_ifname (those came with 14.x).
    const expected = fixtureStates(TWO_TIER).map(({ rt: _rt, rt_ifname: _rtIf, ...rest }) => rest);
    expect(jsonLinesOf(l.stdout)).toEqual(expected);

    const k = await cli('kill', '--sim', dump, '--gateway', '198.51.100.1', '--json');
    expect(k.code).toBe(0);
    const o = JSON.parse(k.stdout);
    expect(o).toMatchObject({ scanned: 9, selected: 2, paired: 2, ambiguous: 0, killed: 4, alreadyGone: 0, failed: 0, dryRun: false });
    expect(o.states).toEqual([st('01', 'selected'), st('03', 'selected'), st('02', 'paired'), st('04', 'paired')]);
  });
});
