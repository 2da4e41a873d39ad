/**
 * `statekill doctor` on every simulated personality and both transports, text and JSON, as a user
 * runs it (bin/statekill.js): exit 0 when every check passes, 1 with the failed check named, 2 for
 * bad input. Read-only: the table is the same afterwards.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimKernel } from '../src/backends/sim.js';
import { PfBackend } from '../src/backends/pf.js';
import { runDoctor } from '../src/backends/doctor.js';
import { closeSelectPool } from '../src/engine/select.js';
import { jsonLines } from '../src/table/jsonl.js';

afterAll(closeSelectPool);

const BIN = new URL('../bin/statekill.js', import.meta.url).pathname;
const DIR = mkdtempSync(path.join(tmpdir(), 'sk-doctor-'));
const TABLE = path.join(DIR, 'table.jsonl');

interface Run { code: number; stdout: string; stderr: string }
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

beforeAll(async () => {
  const s = await PfBackend.onSim(createSimKernel({ generate: { states: 3000, seed: 2 } })).read();
  writeFileSync(TABLE, `${[...jsonLines(s.bytes, s.count, s.layout)].join('\n')}\n`);
});

// [personality args, transport, expected exit, check that must fail (exit 1)]
const MATRIX: Array<[string[], 'ioctl' | 'netlink' | 'auto', number, string?]> = [
  [['--sim-version', '12'], 'ioctl', 0],
  [['--sim-version', '13'], 'ioctl', 0],
  [['--sim-version', '14.0'], 'ioctl', 0],
  [['--sim-version', '14.0'], 'netlink', 0],
  [['--sim-version', '14'], 'ioctl', 0],
  [['--sim-version', '14'], 'netlink', 0],
  [['--sim-version', '15'], 'netlink', 0],
  [['--sim-version', '15'], 'auto', 0],
  [['--sim-version', '15'], 'ioctl', 1, 'read'], // no state read ioctl without COMPAT_FREEBSD14
  [['--sim-version', '15-compat14'], 'ioctl', 0],
  [['--sim-version', '15-compat14'], 'netlink', 0],
  [['--sim-quirk', 'af-into-proto'], 'netlink', 0],
  [['--sim-quirk', 'af-into-proto'], 'ioctl', 0],
  [['--sim-quirk', 'dump-drops'], 'ioctl', 1, 'read'],
  [['--sim-quirk', 'dump-drops'], 'netlink', 1, 'read'],
  [['--sim-version', '15', '--sim-quirk', 'dump-drops'], 'netlink', 1, 'read'],
];

describe('statekill doctor', () => {
  for (const [personality, transport, code, failing] of MATRIX) {
    it(`${personality.join(' ')} --transport ${transport}: exit ${code}${failing ? ` (${failing})` : ''}, text and JSON`, async () => {
      const base = ['doctor', '--sim', TABLE, ...personality, '--transport', transport];
      const [text, json] = await Promise.all([cli(...base), cli(...base, '--json')]);
      expect(text.code, text.stderr + text.stdout).toBe(code);
      expect(json.code, json.stderr).toBe(code);
      // Text: what was probed, then one line per check, then the verdict.
      expect(text.stdout).toMatch(/^target: +simulated pf/m);
      expect(text.stdout).toMatch(/^ioctls answered: /m);
      expect(text.stdout).toMatch(/^COMPAT_FREEBSD14: +(present|absent|n\/a)$/m);
      expect(text.stdout).toMatch(code === 0 ? /doctor: all checks passed/ : /doctor: FAILED/);
      const r = JSON.parse(json.stdout);
      expect(r.ok).toBe(code === 0);
      expect(r.probe.target).toMatch(/simulated pf/);
      if (failing) {
        expect(text.stdout).toMatch(new RegExp(`^FAIL  ${failing} `, 'm'));
        expect(r.reasons.some((x: string) => x.startsWith(`${failing}:`))).toBe(true);
        expect(json.stderr).toMatch(new RegExp(`statekill doctor: ${failing}:`));
      } else {
        expect(r.reasons).toEqual([]);
        const names = r.checks.map((c: { name: string }) => c.name);
        for (const n of ['probe', 'status', 'read', 'sample', 'ids', 'creators', 'kill-unknown-id', 'rule-labels'])
          expect(names, n).toContain(n);
        expect(r.checks.find((c: { name: string }) => c.name === 'kill-unknown-id').status).toBe('pass');
      }
    });
  }

  it('reports what it probed: export version, COMPAT_FREEBSD14, netlink commands, psk_nat', async () => {
    const [v14, v15, v15c, v140] = await Promise.all([
      runDoctor({ sim: createSimKernel({ file: TABLE, version: 14 }) }),
      runDoctor({ sim: createSimKernel({ file: TABLE, version: 15 }) }),
      runDoctor({ sim: createSimKernel({ file: TABLE, version: 15, compat14: true }), transport: 'ioctl' }),
      runDoctor({ sim: createSimKernel({ file: TABLE, version: 14, minor: 0 }) }),
    ]);
    expect(v14.probe).toMatchObject({ stateExportVersion: 20230404, compatFreebsd14: 'n/a', transport: 'ioctl', natKill: true });
    expect(v15.probe).toMatchObject({ compatFreebsd14: 'absent', transport: 'netlink', natKill: true });
    expect(v15.probe.netlink.commands).toContain('GET_STATUS');
    expect(v15c.probe.compatFreebsd14).toBe('present');
    expect(v15c.checks.find((c) => c.name === 'transport')?.status).toBe('warn'); // families not carried over ioctl
    expect(v140.probe).toMatchObject({ natKill: false });
    expect(v140.probe.netlink.commands).toEqual(['GETSTATES', 'GETCREATORS', 'START', 'STOP']);
  });

  it('detects the af-into-proto defect and says statekill is immune to it', async () => {
    const r = await runDoctor({ sim: createSimKernel({ file: TABLE, version: 14, quirks: { afIntoProto: true } }), transport: 'netlink' });
    expect(r.ok).toBe(true);
    expect(r.checks.find((c) => c.name === 'af-filter')?.detail).toMatch(/parses PF_ST_AF into the protocol filter/);
  });

  it('is read-only: the table is unchanged afterwards', async () => {
    const k = createSimKernel({ file: TABLE, version: 15 });
    const before = k.count();
    expect((await runDoctor({ sim: k })).ok).toBe(true);
    expect(k.count()).toBe(before);
  });

  it('bad input exits 2', async () => {
    expect((await cli('doctor', '--sim', TABLE, '--sim-version', '16')).code).toBe(2);
    expect((await cli('doctor', '--sim', TABLE, '--sim-quirk', 'nope')).code).toBe(2);
    expect((await cli('doctor', '--sim-quirk', 'dump-drops')).code).toBe(2);
    expect((await cli('doctor', '--sim', TABLE, '--sample', '0')).code).toBe(2);
    expect((await cli('selftest', '--sim', TABLE, '--json')).code).toBe(0); // the alias
  });
});
