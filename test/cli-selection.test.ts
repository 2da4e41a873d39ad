/**
 * The CLI's selectors go through the library's one validation point before any kernel is opened
 * (issue 10 items 4, 8, 9, 15, 17, 21; #13 --id). Bad input: exit 2, one line on stderr, nothing
 * on stdout, nothing killed. Runs `node bin/statekill.js` (dist/ must be built).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/statekill.js');
const SMALL = join(ROOT, 'test/fixtures/small-table.jsonl');
const LINK_LOCAL = join(ROOT, 'test/fixtures/scenarios/link-local.jsonl');
const TMP = mkdtempSync(join(tmpdir(), 'sk-clisel-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run { code: number; stdout: string; stderr: string }
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 20_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

/** Short ids (last two hex digits) of the states `kill --dry-run --json` would kill. */
async function wouldKill(...args: string[]): Promise<string[]> {
  const r = await cli('kill', '--dry-run', '--json', ...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).states.filter((s: { reason: string }) => s.reason !== 'ambiguous').map((s: { id: string }) => s.id.slice(-2)).sort();
}

async function badInput(args: string[], message?: RegExp): Promise<void> {
  const r = await cli(...args);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
  expect(r.stderr.split('\n')).toHaveLength(2); // one line
  expect(r.stderr.length).toBeLessThan(500);
  if (message) expect(r.stderr).toMatch(message);
}

describe('item 4: an empty option value is bad input, never "absent"', () => {
  const cases: string[][] = [
    ['--dst-port', ''], ['--src-port', ''], ['--src', ''], ['--dst', ''], ['--gateway', ''], ['--nat-addr', ''], ['--interface', ''],
    ['--rt-interface', ''], ['--rule', ''], ['--proto', ''], ['--af', ''], ['--id', ''],
  ];
  for (const [flag, v] of cases)
    it(`kill ${flag} '' (next to a criterion that alone would kill)`, async () => {
      await Promise.all([
        badInput(['kill', '--sim', SMALL, '--proto', 'tcp', flag, v], new RegExp(`^statekill: ${flag}`)),
        badInput(['list', '--sim', SMALL, flag, v]),
      ]);
    });
  it("conntrack: --mark '', --zone '', --reply-dst '', --netns '' (refused before any kernel is opened)", async () => {
    await Promise.all([['--mark', ''], ['--zone', ''], ['--reply-dst', ''], ['--netns', '', '--proto', 'tcp']]
      .map((a) => badInput(['kill', '--backend', 'conntrack', ...a], new RegExp(`statekill: ${a[0]}`))));
  });
  it("--sim '', --sim-save '', --device ''", async () => {
    await Promise.all([
      badInput(['kill', '--sim', '', '--gateway', '198.51.100.1'], /--sim/),
      badInput(['kill', '--sim', SMALL, '--sim-save', '', '--gateway', '198.51.100.1'], /--sim-save/),
      badInput(['kill', '--device', '', '--gateway', '198.51.100.1'], /--device/),
    ]);
  });
});

describe('item 15: a repeated selector ORs its values', () => {
  it('--proto tcp --proto udp selects both (it was udp only)', async () => {
    const both = await wouldKill('--sim', SMALL, '--proto', 'tcp', '--proto', 'udp', '--no-pair');
    expect(both).toEqual(['01', '02', '03', '04', '05', '06', '07', '08']);
    expect(await wouldKill('--sim', SMALL, '--proto', 'udp', '--no-pair')).toEqual(['03', '04']);
  });
  it('--src, --dst, --src-port, --dst-port, --af, --rule, --interface repeated', async () => {
    expect(await wouldKill('--sim', SMALL, '--src', '192.168.1.10', '--src', '192.168.1.11', '--no-pair')).toEqual(['01', '03']);
    expect(await wouldKill('--sim', SMALL, '--dst-port', '443', '--dst-port', '53', '--no-pair')).toEqual(['01', '02', '03', '04', '06', '07', '08']);
    expect(await wouldKill('--sim', SMALL, '--dst-port', '853', '--no-pair')).toEqual(['05']);
    expect(await wouldKill('--sim', SMALL, '--af', 'inet', '--af', 'inet6', '--rule', '13', '--rule', '14', '--no-pair')).toEqual(['06', '07', '08']);
    expect(await wouldKill('--sim', SMALL, '--interface', 'igb3', '--interface', 'igb1', '--proto', 'udp', '--no-pair')).toEqual(['03', '04']);
  });
  it('selectors that take one value refuse a second one', async () => {
    await badInput(['kill', '--backend', 'conntrack', '--mark', '1', '--mark', '2'], /--mark takes one value/);
    await badInput(['kill', '--backend', 'conntrack', '--zone', '1', '--zone', '2'], /--zone takes one value/);
  });
});

describe('item 8: --gateway that is usually a typo needs --force', () => {
  it('an unscoped link-local gateway is refused; %IF selects that link; --force every link', async () => {
    await badInput(['kill', '--sim', LINK_LOCAL, '--gateway', 'fe80::1'], /^statekill: --gateway: fe80::1\/128: an IPv6 link-local gateway is on every link; give its interface \(fe80::1%igb0\)/);
    expect(await wouldKill('--sim', LINK_LOCAL, '--gateway', 'fe80::1%igb0')).toEqual(['01', '02', '05']);
    expect(await wouldKill('--sim', LINK_LOCAL, '--gateway', 'fe80::1', '--force')).toEqual(['01', '02', '03', '04', '05', '06']);
  });
  it('/0 and host bits are refused unless --force, on --gateway, --nat-addr, --src and --dst', async () => {
    await badInput(['kill', '--sim', SMALL, '--gateway', '198.51.100.1/0'], /\/0 prefix.*--af.*--force/);
    await badInput(['kill', '--sim', SMALL, '--gateway', '198.51.100.1/24'], /host bits.*--force/);
    await Promise.all(['--nat-addr', '--src', '--dst'].flatMap((f) => [
      badInput(['kill', '--sim', SMALL, f, '0.0.0.0/0'], /\/0 prefix/),
      badInput(['kill', '--sim', SMALL, f, '192.168.1.10/24'], /host bits/),
    ]));
    expect(await wouldKill('--sim', SMALL, '--gateway', '198.51.100.1/24', '--force')).toEqual(['01', '02', '05']);
  });
});

describe('item 9: FreeBSD 13 and 12 records cannot answer a scoped gateway', () => {
  for (const v of ['12', '13'])
    it(`--sim-version ${v} --gateway fe80::1%igb0 is refused (it was "0 selected", exit 0)`, async () => {
      await badInput(['kill', '--sim', SMALL, '--sim-version', v, '--gateway', 'fe80::1%igb0'], /no route-to interface/);
      await badInput(['kill', '--sim', SMALL, '--sim-version', v, '--rt-interface', 'igb0'], /no route-to interface/);
      expect(await wouldKill('--sim', SMALL, '--sim-version', v, '--gateway', 'fe80::1', '--force')).toEqual(['07', '08']);
    });
});

describe('#13: --id ID[/CREATORID] (pfctl -k id)', () => {
  it('kills the state and its partner; the creator id narrows; hex as pfctl -ss -vv prints it', async () => {
    expect(await wouldKill('--sim', SMALL, '--id', '1')).toEqual(['01', '02']);
    expect(await wouldKill('--sim', SMALL, '--id', '0000000000000003/0badc0de', '--id', '0x7/0x12345678')).toEqual(['03', '04', '07', '08']);
    expect(await wouldKill('--sim', SMALL, '--id', '7/0badc0de')).toEqual([]);
    // What list prints is what --id takes.
    const m = /^ {3}id: ([0-9a-f]{16}) creatorid: ([0-9a-f]{8})/m.exec((await cli('list', '-v', '--sim', SMALL, '--id', '5')).stdout);
    expect(m?.slice(1)).toEqual(['0000000000000005', '0badc0de']);
    expect(await wouldKill('--sim', SMALL, '--id', `${m![1]}/${m![2]}`, '--no-pair')).toEqual(['05']);
  });
  it('refuses id 0, creator id 0 and malformed ids', async () => {
    await Promise.all(['0', '0/0badc0de', '1/0', '1/', '/1', 'x', '1/2/3', '12345678901234567', '1/123456789', '-1']
      .map((v) => badInput(['kill', '--sim', SMALL, '--id', v], /^statekill: --id/)));
  });
});

describe('item 21: smaller refusals', () => {
  it('--mark takes VALUE[/MASK], nothing more', async () => {
    await badInput(['kill', '--backend', 'conntrack', '--mark', '0x100/0xff00/1'], /--mark/);
    await badInput(['kill', '--backend', 'conntrack', '--mark', '0x100/0xff'], /bits outside mask/);
    await badInput(['kill', '--backend', 'conntrack', '--mark', '0x100/0'], /mask 0/);
  });
  it('--src ADDR%IF is refused, not silently unscoped', async () => {
    await badInput(['kill', '--sim', SMALL, '--src', 'fe80::5%igb1'], /applies to gateways only.*--interface/);
  });
  it("--proto takes a protocol's name, not an Object.prototype key (it said 'got function')", async () => {
    await badInput(['kill', '--sim', SMALL, '--proto', 'constructor'], /--proto: unknown protocol 'constructor'/);
  });
  it('--zone out of range', async () => {
    await badInput(['kill', '--backend', 'conntrack', '--zone', '65536'], /--zone: zone 65536 out of range 0-65535/);
  });
  it('--rule beyond 2^32 does not wrap', async () => {
    await badInput(['kill', '--sim', SMALL, '--rule', '4294967306'], /--rule: rule number 4294967306 out of range/);
  });
  it('a huge value is echoed short', async () => {
    await badInput(['kill', '--sim', SMALL, '--gateway', '1'.repeat(100_000)]);
    await badInput(['kill', '--sim', SMALL, '--interface', 'i'.repeat(100_000)]);
  });
  it('--sim-save to a path that cannot be written is refused before the kill (it was a stack trace after it)', async () => {
    const copy = join(TMP, 'copy.jsonl');
    writeFileSync(copy, readFileSync(SMALL));
    await Promise.all([join(TMP, 'no-such-dir', 'after.jsonl'), TMP, '/proc/self/new-file']
      .map((bad) => badInput(['kill', '--sim', copy, '--gateway', '198.51.100.1', '--sim-save', bad], /--sim-save/)));
  });
  it('a --sim-save that fails only at the write is one line, not a stack trace', async () => {
    const r = await cli('kill', '--sim', SMALL, '--gateway', '198.51.100.1', '--sim-save', '/proc/version');
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/killed: +3/);
    expect(r.stderr).toBe('statekill: cannot write /proc/version: EIO\n');
  });
});

describe('item 17: --sim must be a regular file of sane size', () => {
  it('a FIFO is refused at once (it hung)', () => {
    const fifo = join(TMP, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = spawnSync(process.execPath, [BIN, 'list', '--sim', fifo], { timeout: 15_000, encoding: 'utf8' });
    expect(r.signal).toBe(null);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/is a FIFO: a table must be a regular file/);
  });
  it('/dev/zero is refused at once (it grew to 19.7 GB)', async () => {
    await badInput(['list', '--sim', '/dev/zero'], /\/dev\/zero is a character device/);
    await badInput(['list', '--sim', TMP], /is a directory/);
  });
});

describe('options of one table source are refused with another, not ignored', () => {
  it('--sim-version and --sim-format without --sim: on a box with /dev/pf the command would run on the real kernel', async () => {
    await badInput(['kill', '--gateway', '198.51.100.1', '--sim-version', '12', '--dry-run'], /--sim-version needs --sim/);
    await badInput(['list', '--sim-format', 'jsonl'], /--sim-format needs --sim/);
    await badInput(['kill', '--backend', 'conntrack', '--mark', '0x100/0xff00', '--sim-version', '14', '--dry-run'], /--sim-version needs --sim/);
    await badInput(['doctor', '--sim-version', '15'], /--sim-version needs --sim/);
    await badInput(['selftest', '--sim-format', 'pf-export'], /--sim-format needs --sim/);
  });
  it('--transport on the conntrack backend (pf\'s kernel interface)', async () => {
    await badInput(['kill', '--backend', 'conntrack', '--mark', '0x100/0xff00', '--transport', 'netlink', '--dry-run'], /--transport applies to pf/);
  });
  it('the defaults still apply: --sim alone is version 14 over auto transport', async () => {
    const r = await cli('stats', '--sim', SMALL);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^target: simulated pf \(FreeBSD 14\)\npaths:  read DIOCGETSTATESV2/);
  });
});
