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
import { judgeRead, looksShort, minimumPlausibleRead } from '../src/engine/preflight.js';
import { jsonLines } from '../src/table/jsonl.js';
import { PfBackend } from '../src/backends/pf.js';
import { PfNetlinkBackend } from '../src/backends/pf-netlink.js';
import { streamPlan, streamSelect } from '../src/engine/streamSelect.js';

afterAll(closeSelectPool);

const GW = [{ gateways: [{ af: 'inet' as const, addr: '198.51.100.1', prefix: 32 }] }];
const BIN = new URL('../bin/statekill.js', import.meta.url).pathname;

describe('the tolerance', () => {
  it('allows churn the two counts show and 10% + 2 more, no less', () => {
    expect(minimumPlausibleRead(1000, 1000)).toBe(1000 - 2 - 100);
    expect(looksShort({ before: 1000, after: 1000, read: 898 })).toBe(false);
    expect(looksShort({ before: 1000, after: 1000, read: 897 })).toBe(true);
    // States expiring during the read lower the count after it: no false alarm.
    expect(looksShort({ before: 100000, after: 60000, read: 60000 })).toBe(false);
    // A tiny table is judged too: an empty or halved dump of 8 states is short (the counter's lag
    // is absorbed by the re-check 300 ms later, not by a fixed slack); one state off is not.
    expect(looksShort({ before: 8, after: 8, read: 0 })).toBe(true);
    expect(looksShort({ before: 8, after: 8, read: 4 })).toBe(true);
    expect(looksShort({ before: 8, after: 8, read: 7 })).toBe(false);
  });

  it('a counter that has not caught up with a flush just before the read is not a short read', async () => {
    // The kernel's counter lags (refreshed by the purge thread): it still says 8 right after the
    // table went empty, and catches up before the re-check.
    let calls = 0;
    const status = () => ({ states: calls++ < 1 ? 8 : 0, hostid: 1, source: 'test' });
    await expect(judgeRead(status, 8, status(), 0, 'test')).resolves.toBeUndefined();
    const stuck = () => ({ states: 8, hostid: 1, source: 'test' });
    await expect(judgeRead(stuck, 8, stuck(), 0, 'test')).rejects.toMatchObject({ code: 'E_SHORT_READ' });
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

// A selection with a protocol or one address gives a read hint (read-hint.ts). The ioctls cannot
// filter, so their read is the whole table and must be judged like any other; netlink's GETSTATES
// filters in the kernel, and such a read is verified by an unfiltered count of the same filter.
const GW_UDP = [{ gateways: GW[0].gateways, proto: 17 }];

describe('hinted and kernel-filtered reads', () => {
  for (const transport of ['ioctl', 'netlink'] as const) {
    it(`${transport}: a selection with a protocol on a lossy dump is refused too (E_SHORT_READ, nothing killed)`, async () => {
      const sim = createSimKernel({ generate: { states: 20000, seed: 5 }, version: 14, quirkNames: ['dump-drops'] });
      const t = await openTable({ sim, transport });
      await expect(t.kill(GW_UDP)).rejects.toMatchObject({ code: 'E_SHORT_READ' });
      await expect(t.kill([{ src: { af: 'inet', addr: '192.168.1.0', prefix: 24 } }])).rejects.toMatchObject({ code: 'E_SHORT_READ' });
      expect(sim.count()).toBe(20000);
      await t.close();
    });
  }

  it('netlink: a filtered read shorter than an unfiltered count of the same filter is refused', async () => {
    const sim = createSimKernel({ generate: { states: 20000, seed: 5 }, version: 14 });
    const be = PfNetlinkBackend.onSim(sim);
    // A kernel whose filtered dump loses every other state while its full dump is whole.
    const lossy = Object.create(be) as PfNetlinkBackend;
    lossy.read = async (hint) => {
      const s = await be.read(hint);
      if (!s.kernelFiltered) return s;
      const half = Math.floor(s.count / 2);
      return { ...s, bytes: s.bytes.subarray(0, half * 384), count: half };
    };
    const t = await openTable({ backend: lossy });
    await expect(t.kill(GW_UDP)).rejects.toThrow(/E_SHORT_READ: .*unfiltered/);
    expect(sim.count()).toBe(20000);
    await t.close();
  });

  it('netlink: a kernel-filtered read of a sound kernel still narrows, and passes with churn', async () => {
    const sim = createSimKernel({ generate: { states: 20000, seed: 5 }, version: 14 });
    const t = await openTable({ sim, transport: 'netlink' });
    sim.growBeforeNextFetch(700, 900);
    const plan = await t.plan(GW_UDP);
    expect(plan.scanned).toBeLessThan(5000); // the kernel kept only UDP
    expect(plan.counts.selected).toBeGreaterThan(50);
    const r = await t.execute(plan);
    expect(r.failed).toBe(0);
    await t.close();
  });

  it('streamSelect with a kernel filter on a lossy dump is refused; streamPlan refuses a filter that can lose partners', async () => {
    const lossy = PfNetlinkBackend.onSim(createSimKernel({ generate: { states: 20000, seed: 5 }, version: 14, quirkNames: ['dump-drops'] }));
    await expect(streamSelect(lossy, GW, { filter: { proto: 17 } })).rejects.toMatchObject({ code: 'E_SHORT_READ' });
    await expect(streamSelect(lossy, GW)).rejects.toMatchObject({ code: 'E_SHORT_READ' });
    const sound = PfNetlinkBackend.onSim(createSimKernel({ generate: { states: 20000, seed: 5 }, version: 14 }));
    const narrowed = await streamSelect(sound, GW, { filter: { proto: 17 } });
    expect(narrowed.snapshot.count).toBeLessThan(5000);
    // Partners are on the other interface: an interface filter leaves them out of the read.
    await expect(streamPlan(sound, GW, { filter: { ifname: 'igb1' } })).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
    lossy.close();
    sound.close();
  });
});

describe('small tables', () => {
  const FILE = new URL('./fixtures/small-table.jsonl', import.meta.url).pathname;

  it('a dump that drops half of an 8-state table is refused; the whole one passes', async () => {
    for (const transport of ['ioctl', 'netlink'] as const) {
      const bad = await openTable({ sim: createSimKernel({ file: FILE, quirkNames: ['dump-drops'] }), transport });
      await expect(bad.kill(GW)).rejects.toMatchObject({ code: 'E_SHORT_READ' });
      await bad.close();
      const good = await openTable({ sim: createSimKernel({ file: FILE }), transport });
      expect((await good.kill(GW)).report.killed).toBe(3);
      await good.close();
    }
  });

  it('the CLI on the README\'s small table with the quirk: exit 1, E_SHORT_READ', () => {
    const r = spawnSync(process.execPath, [BIN, 'kill', '--sim', FILE, '--sim-quirk', 'dump-drops', '--gateway', '198.51.100.1'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E_SHORT_READ/);
  });
});

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
