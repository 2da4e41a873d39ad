/**
 * The CLI's surface a user meets first: --version, no command, --help examples, `list` in pfctl -ss's
 * format (the state column from the records' peers), `stats` protocol names.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSimKernel, openTable, SIM_VERSIONS } from '../src/index.js';
import { simPersonality } from '../src/backends/sim.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/statekill.js');
const PORT_FORWARD = join(ROOT, 'test/fixtures/scenarios/port-forward.jsonl');
const TWO_TIER = join(ROOT, 'test/fixtures/scenarios/two-tier.jsonl');
const TMP = mkdtempSync(join(tmpdir(), 'sk-usage-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

describe('statekill with no command, --version, --help', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(await cli('--version')).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('no command: the help on stderr and exit 2 (a usage error)', async () => {
    const r = await cli();
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: statekill /);
    for (const c of ['kill', 'list', 'stats', 'event']) expect(r.stderr).toContain(`  ${c} `);
  });

  it('a command group without its subcommand, or help for a command that does not exist: help on stderr, exit 2', async () => {
    for (const args of [['hook'], ['help', 'bogus']]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^Usage: statekill /);
    }
    // Asked for, help is a success on stdout.
    for (const args of [['help'], ['help', 'kill'], ['hook', '--help'], ['hook', 'help']]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: statekill /);
    }
  });

  it('kill, list and event --help end with examples that use only options the command has', async () => {
    for (const command of ['kill', 'list', 'event']) {
      const r = await cli(command, '--help');
      expect(r.code).toBe(0);
      const [options, examples] = r.stdout.split('\nExamples:\n');
      expect(examples, command).toMatch(new RegExp(`statekill ${command} `));
      const used = [...examples.matchAll(/ (--[a-z-]+)/g)].map((m) => m[1]);
      expect(used.length).toBeGreaterThan(0);
      for (const flag of used) expect(options, `${command} ${flag}`).toContain(flag);
    }
  });

  it('the help\'s kill example runs as written (on the simulated kernel)', async () => {
    const r = await cli('kill', '--sim', TWO_TIER, '--gateway', '198.51.100.1', '--dry-run', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).dryRun).toBe(true);
  });
});

/**
 * Every `statekill ...` command line the README and docs/ show, in code blocks (continuation lines
 * joined) and in inline code spans (also inside a longer line, e.g. a hook's `daemon -f statekill
 * event ...`). Returns [command words, the rest of the line].
 */
const COMMANDS = ['kill', 'list', 'stats', 'save', 'demo', 'doctor', 'selftest', 'event', 'watch', 'hook'];
export function docCommandLines(text: string): { line: string; command: string[] }[] {
  const lines: string[] = [];
  let inBlock = false;
  let cur: string | undefined;
  const prose: string[] = [];
  const flush = () => { if (cur !== undefined) lines.push(cur); cur = undefined; };
  for (const raw of text.split('\n')) {
    if (/^\s*```/.test(raw)) { inBlock = !inBlock; flush(); continue; }
    if (!inBlock) { prose.push(raw); continue; }
    const m = /^(?:\$ )?(statekill .*)$/.exec(raw);
    if (m) { flush(); cur = m[1]; } else if (cur !== undefined && /^\s+\S/.test(raw)) cur += ` ${raw.trim()}`; else flush();
  }
  flush();
  // Inline code may wrap onto the next line; `\|` is a pipe inside a table.
  for (const span of prose.join('\n').matchAll(/`([^`]+)`/g)) {
    const m = /\bstatekill ((?:[a-z]+)\b.*)$/s.exec(span[1].replace(/\s*\n\s*/g, ' '));
    if (m) lines.push(`statekill ${m[1]}`);
  }
  const out: { line: string; command: string[] }[] = [];
  for (const raw of lines) {
    const line = raw.replace(/\\\|/g, '|').replace(/ \\ /g, ' ');
    const words = line.split(/\s+/);
    const first = words[1] ?? '';
    if (first.startsWith('-')) { out.push({ line, command: [] }); continue; }
    for (const c of first.split('|')) {
      if (!COMMANDS.includes(c)) continue;
      if (c !== 'hook') { out.push({ line, command: [c] }); continue; }
      for (const sub of (words[2] ?? '').split('|')) if (['install', 'uninstall', 'status'].includes(sub)) out.push({ line, command: [c, sub] });
    }
  }
  return out;
}

describe('the README and docs/ show only options their command has', () => {
  const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const helps = new Map<string, Promise<{ code: number; stdout: string }>>();
  const helpOf = (command: string[]) => {
    const key = command.join(' ');
    if (!helps.has(key)) helps.set(key, cli(...command, '--help'));
    return helps.get(key)!;
  };

  it('every --option of every statekill command line in README.md and docs/*.md is in that command\'s --help', async () => {
    let checked = 0;
    for (const doc of DOCS) {
      for (const { line, command } of docCommandLines(readFileSync(join(ROOT, doc), 'utf8'))) {
        const key = command.join(' ');
        const r = await helpOf(command);
        expect(r.code, `${key} --help`).toBe(0);
        const options = r.stdout;
        for (const m of line.matchAll(/(?<![\w-])(-{1,2}[a-zA-Z][\w-]*)/g)) {
          const flag = m[1];
          expect(options, `${doc}: ${line}\n  ${flag} is not an option of 'statekill ${key}'`).toMatch(new RegExp(`(^|[ ,])${flag}([ ,]|$)`, 'm'));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(50); // the extraction found the synopses, not nothing
  });

  it('every --option anywhere in README.md and docs/*.md is statekill\'s, or the benchmark\'s or prebuild script\'s that the docs name', async () => {
    const commands = [['kill'], ['list'], ['stats'], ['save'], ['demo'], ['doctor'], ['event'], ['watch'], ['hook', 'install'], ['hook', 'uninstall'], ['hook', 'status'], []];
    const all = (await Promise.all(commands.map(helpOf))).map((r) => r.stdout).join('\n');
    const scripts = ['bench/run.mjs', 'bench/netlink-vs-ioctl.mjs', 'scripts/prebuild.mjs'].map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
    for (const doc of DOCS) {
      for (const m of readFileSync(join(ROOT, doc), 'utf8').matchAll(/(?<![\w-])(--[a-z][\w-]*)/g)) {
        const flag = m[1];
        if (flag === '--opt') continue; // "--opt=value": the form, not an option
        if (new RegExp(`(^|[ ,])${flag}([ ,]|$)`, 'm').test(all)) continue;
        expect(scripts, `${doc}: ${flag} is no statekill option, and no bench/ or prebuild script takes it`).toContain(`'${flag}'`);
      }
    }
  });

  it('the hook scripts call statekill only with options its commands have', async () => {
    const scripts = ['opnsense-monitor.sh', 'opnsense-carp.sh', 'pfsense-pf-plugin.sh', 'mwan3/16-statekill'];
    let calls = 0;
    for (const f of scripts) {
      for (const m of readFileSync(join(ROOT, 'src/hooks', f), 'utf8').matchAll(/"\$STATEKILL" ([a-z]+)(.*)$/gm)) {
        const options = (await helpOf([m[1]])).stdout;
        for (const o of m[2].matchAll(/(?<![\w-])(--[a-z][\w-]*)/g))
          expect(options, `src/hooks/${f}: statekill ${m[1]} ${o[1]}`).toMatch(new RegExp(`(^|[ ,])${o[1]}([ ,]|$)`, 'm'));
        calls++;
      }
    }
    expect(calls).toBe(scripts.length);
  });

  it('the extraction sees synopses, joined continuation lines and commands inside longer spans', () => {
    const found = docCommandLines([
      '```', '$ statekill event --gateway WAN1 \\', '    --no-wait', '```',
      'runs `daemon -f statekill event --config=x`; `statekill hook install\\|status opnsense`, `statekill doctor [--device PATH',
      '[--json]`',
    ].join('\n'));
    expect(found).toEqual([
      { line: 'statekill event --gateway WAN1 --no-wait', command: ['event'] },
      { line: 'statekill event --config=x', command: ['event'] },
      { line: 'statekill hook install|status opnsense', command: ['hook', 'install'] },
      { line: 'statekill hook install|status opnsense', command: ['hook', 'status'] },
      { line: 'statekill doctor [--device PATH [--json]', command: ['doctor'] },
    ]);
  });
});

describe('demo --sim-version', () => {
  it('takes every personality the table commands take, and runs that one (15 is 15 without COMPAT_FREEBSD14)', async () => {
    for (const v of SIM_VERSIONS) {
      const r = await cli('demo', '--states', '2000', '--no-compare', '--sim-version', v);
      expect(r.code, `${v}: ${r.stderr}`).toBe(0);
      const t = await openTable({ sim: createSimKernel({ ...simPersonality(v), generate: { states: 10 } }) });
      const target = t.describe().target;
      await t.close();
      expect(r.stdout, v).toContain(`target:      ${target}\n`);
    }
    const bad = await cli('demo', '--sim-version', '16');
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
  });
});

/** A raw pf-export dump of `src` with each record's peer states (pfsync_state_peer.state) set. */
async function dumpWithPeers(src: string, peers: (i: number) => [number, number]): Promise<string> {
  const t = await openTable({ sim: { file: src } });
  const snap = await t.snapshot();
  const bytes = Buffer.from(snap.bytes.slice(0, snap.count * 384));
  for (let i = 0; i < snap.count; i++) {
    const [s, d] = peers(i);
    bytes[i * 384 + 120 + 24] = s; // src peer .state (pf-abi.md 2.11, 2.7)
    bytes[i * 384 + 152 + 24] = d; // dst peer .state
  }
  await t.close();
  const file = join(TMP, `peers-${Math.random().toString(36).slice(2)}.bin`);
  writeFileSync(file, bytes);
  return file;
}

describe('list prints states as pfctl -ss does', () => {
  it('inbound rdr: stack address first, wire in parentheses; state levels initiator first', async () => {
    // Records 1-2 of the fixture: the WAN inbound port-forward state and its LAN outbound partner.
    const dump = await dumpWithPeers(PORT_FORWARD, () => [4, 9]); // src ESTABLISHED, dst FIN_WAIT_2
    const r = await cli('list', '--sim', dump, '-v');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    // pf_print_state.c: for PF_IN the peers print dst:src (the initiator is the remote side).
    expect(lines[0]).toBe('igb0 tcp 192.168.1.10:8443 (198.51.100.2:443) <- 192.0.2.50:52000       FIN_WAIT_2:ESTABLISHED');
    expect(lines[1]).toBe('   id: 0000000000000001 creatorid: 0badc0de reply-to: 198.51.100.1@igb0');
    expect(lines[2]).toBe('igb1 tcp 192.0.2.50:52000 -> 192.168.1.10:8443       ESTABLISHED:FIN_WAIT_2');
  });

  it('outbound NAT, UDP levels, and pfctl\'s one line per state without -v', async () => {
    const dump = await dumpWithPeers(TWO_TIER, () => [2, 1]);
    const r = await cli('list', '--sim', dump);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(9);
    expect(lines).toContain('igb0 tcp 198.51.100.2:50001 (192.168.1.10:40001) -> 1.1.1.1:443       SYN_SENT:LISTEN');
    expect(lines).toContain('igb1 udp 8.8.8.8:53 <- 192.168.1.11:40002       SINGLE:MULTIPLE');
  });

  it('state levels pfctl cannot name are printed as pfctl does', async () => {
    const { stateLevels } = await import('../src/cli/pfctl-format.js');
    expect(stateLevels(6, 11, 4)).toBe('PROXY:SRC');
    expect(stateLevels(6, 13, 4)).toBe('<BAD STATE LEVELS 13:4>');
    expect(stateLevels(132, 8, 0x80)).toBe('ESTABLISHED:SHUTDOWN_PENDING');
    expect(stateLevels(1, 0, 0)).toBe('0:0'); // ICMP has no levels
    expect(stateLevels(47, 2, 2)).toBe('MULTIPLE:MULTIPLE');
  });
});

describe('stats', () => {
  it('text names protocols; --json keeps their numbers', async () => {
    const text = await cli('stats', '--sim', TWO_TIER);
    expect(text.stdout).toMatch(/protocol:\n {2}tcp +7\n {2}udp +2\n/);
    const json = JSON.parse((await cli('stats', '--sim', TWO_TIER, '--json')).stdout);
    expect(json.byProto).toEqual({ 6: 7, 17: 2 });
  });
});

describe('kill options that cannot apply are refused, never ignored', () => {
  it('conntrack: pairing and by-id options; --kernel-filter --progress; --kernel-rule-only --pair-rule/--progress (exit 2, nothing killed)', async () => {
    const cases: [string[], RegExp][] = [
      [['--backend', 'conntrack', '--mark', '0x100/0xff00', '--no-pair'], /^statekill: --no-pair: a pf option/],
      [['--backend', 'conntrack', '--mark', '0x100/0xff00', '--pair-rule', 'kernel'], /^statekill: --pair-rule: a pf option/],
      [['--backend', 'conntrack', '--mark', '0x100/0xff00', '--kill-ambiguous', '--by-id'], /^statekill: --kill-ambiguous, --by-id: pf options/],
      [['--backend', 'conntrack', '--mark', '0x100/0xff00', '--kernel-filter', '--progress'], /^statekill: --progress: --kernel-filter/],
    ];
    for (const [args, message] of cases) {
      const r = await cli('kill', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout).toBe('');
    }
    for (const [extra, message] of [[['--pair-rule', 'kernel'], /--pair-rule: --kernel-rule-only/], [['--progress'], /--progress: --kernel-rule-only/]] as const) {
      const saved = join(TMP, `rule-only-${extra[0].slice(2)}.jsonl`);
      const r = await cli('kill', '--sim', PORT_FORWARD, '--gateway', '198.51.100.1', '--kernel-rule-only', ...extra, '--sim-save', saved);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(readdirSync(TMP)).not.toContain(`rule-only-${extra[0].slice(2)}.jsonl`); // nothing ran, nothing saved
    }
    // What does apply still runs: pf's own rule without partners.
    const ok = await cli('kill', '--sim', PORT_FORWARD, '--gateway', '198.51.100.1', '--kernel-rule-only', '--no-pair', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).killed).toBeGreaterThan(0);
  });
});
