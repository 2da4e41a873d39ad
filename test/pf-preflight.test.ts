/**
 * The read preflight (src/engine/preflight.ts): a read implausibly short of the kernel's own state
 * counter is refused with E_SHORT_READ and nothing is killed; normal churn passes. Exercised on a
 * simulated kernel whose dump drops states while its counter counts them (--sim-quirk dump-drops).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTable } from '../src/index.js';
import { createSimKernel } from '../src/backends/sim.js';
import { closeSelectPool } from '../src/engine/select.js';
import { looksShort, minimumPlausibleRead } from '../src/engine/preflight.js';
import { jsonLines } from '../src/table/jsonl.js';
import { PfBackend } from '../src/backends/pf.js';

afterAll(closeSelectPool);

const GW = [{ gateways: [{ af: 'inet' as const, addr: '198.51.100.1', prefix: 32 }] }];
const BIN = new URL('../bin/statekill.js', import.meta.url).pathname;

describe('the tolerance', () => {
  it('allows churn the two counts show and 10% + 64 more, no less', () => {
    expect(minimumPlausibleRead(1000, 1000)).toBe(1000 - 64 - 100);
    expect(looksShort({ before: 1000, after: 1000, read: 836 })).toBe(false);
    expect(looksShort({ before: 1000, after: 1000, read: 835 })).toBe(true);
    // States expiring during the read lower the count after it: no false alarm.
    expect(looksShort({ before: 100000, after: 60000, read: 60000 })).toBe(false);
    // A tiny table is not judged by percentages alone.
    expect(looksShort({ before: 8, after: 8, read: 0 })).toBe(false);
  });
});

for (const transport of ['ioctl', 'netlink'] as const) {
  describe(`preflight over ${transport}`, () => {
    it('a dump that silently drops states is refused: E_SHORT_READ, nothing killed', async () => {
      const sim = createSimKernel({ generate: { states: 20000, seed: 5 }, version: 14, quirkNames: ['dump-drops'] });
      const t = await openTable({ sim, transport });
      await expect(t.kill(GW)).rejects.toMatchObject({ code: 'E_SHORT_READ' });
      expect(sim.count()).toBe(20000);
      await t.close();
    });

    it('normal churn passes: states arriving and expiring during the read', async () => {
      const sim = createSimKernel({ generate: { states: 20000, seed: 5 }, version: 14 });
      const t = await openTable({ sim, transport });
      sim.growBeforeNextFetch(700, 900);
      const { report } = await t.kill(GW);
      expect(report.scanned).toBe(19800);
      expect(report.killed).toBeGreaterThan(100);
      expect(report.failed).toBe(0);
      await t.close();
    });
  });
}

describe('the same kernel through the CLI', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sk-preflight-'));
  const file = path.join(dir, 'table.jsonl');
  const sim = createSimKernel({ generate: { states: 5000, seed: 9 } });
  const snap = PfBackend.onSim(sim);
  const lines: string[] = [];

  it('kill exits 1 with E_SHORT_READ and prints no report; without the quirk the same kill succeeds', async () => {
    const s = await snap.read();
    for (const l of jsonLines(s.bytes, s.count, s.layout)) lines.push(l);
    writeFileSync(file, `${lines.join('\n')}\n`);
    for (const transport of ['ioctl', 'netlink']) {
      const bad = spawnSync(process.execPath, [BIN, 'kill', '--sim', file, '--sim-quirk', 'dump-drops', '--transport', transport,
        '--gateway', '198.51.100.1', '--json'], { encoding: 'utf8' });
      expect(bad.status).toBe(1);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toMatch(/E_SHORT_READ/);
      expect(bad.stderr).toMatch(/nothing was killed/);
      const good = spawnSync(process.execPath, [BIN, 'kill', '--sim', file, '--transport', transport, '--gateway', '198.51.100.1', '--json'],
        { encoding: 'utf8' });
      expect(good.status).toBe(0);
      expect(JSON.parse(good.stdout).killed).toBeGreaterThan(0);
    }
  });
});
