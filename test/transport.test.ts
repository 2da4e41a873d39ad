/** Which pf transport openTable picks, and that both give the same table. */
import { describe, expect, it } from 'vitest';
import { openTable, plannedStates, type Selection } from '../src/index.js';

const FILE = new URL('./fixtures/small-table.jsonl', import.meta.url).pathname;

describe('pf transport choice', () => {
  it('auto: the ioctl read where the kernel has one (13, 14)', async () => {
    for (const [version, compat14] of [[13, false], [14, false]] as const) {
      const t = await openTable({ sim: { file: FILE, version, compat14 } });
      expect(t.describe().paths.read).toMatch(/^DIOCGETSTATES/);
      expect((await t.snapshot()).count).toBe(8);
      await t.close();
    }
  });
  it('auto: netlink on a 15-era kernel even with COMPAT_FREEBSD14 (only its dump carries per-key and next-hop families)', async () => {
    const t = await openTable({ sim: { file: FILE, version: 15, compat14: true } });
    expect(t.describe()).toMatchObject({ transport: 'netlink', paths: { read: 'netlink GETSTATES' } });
    expect((await t.snapshot()).count).toBe(8);
    await t.close();
  });
  it('auto: netlink where the struct reads are gone (15 without COMPAT_FREEBSD14)', async () => {
    const t = await openTable({ sim: { file: FILE, version: 15 } });
    expect(t.describe()).toMatchObject({ transport: 'netlink', paths: { read: 'netlink GETSTATES' } });
    const { report } = await t.kill([{ gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }]);
    expect(report).toMatchObject({ selected: 2, paired: 1, killed: 3, failed: 0 });
    await t.close();
  });
  it('netlink asked of a kernel without the pfctl family (13.x) is an error, not a silent ioctl', async () => {
    await expect(openTable({ sim: { file: FILE, version: 13 }, transport: 'netlink' })).rejects.toMatchObject({ code: 'ENOENT' });
  });
  it('an unknown transport is bad input', async () => {
    await expect(openTable({ sim: { file: FILE }, transport: 'carrier-pigeon' as 'auto' })).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
  });
});

describe('kernel-side read filters (netlink) narrow the read, never the plan', () => {
  const ids = (plan: Awaited<ReturnType<Awaited<ReturnType<typeof openTable>>['plan']>>) =>
    [...plannedStates(plan)].map((s) => `${s.id}/${s.reason}`).sort();
  // [name, selections, whether the kernel may leave states out]
  const cases: Array<[string, Selection[], boolean]> = [
    // No family filter ever: an af-to partner has the other family (#12 finding 1 and 3).
    ['an IPv4 gateway (no filter: never by family)', [{ gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }], false],
    ['an IPv6 gateway scoped to its interface', [{ gateways: [{ af: 'inet6', addr: 'fe80::1', prefix: 128, ifname: 'igb3' }] }], false],
    ['a destination network and protocol (address + proto filter)', [{ dst: { af: 'inet', addr: '1.0.0.0', prefix: 8 }, proto: 6 }], true],
    ['a client by source (address filter; partners carry it in their stack key)', [{ src: { af: 'inet', addr: '192.168.1.7', prefix: 32 } }], true],
    ['NAT address (no address filter: the inside partner lacks it)', [{ natAddrs: [{ af: 'inet', addr: '198.51.100.2', prefix: 32 }] }], false],
  ];
  for (const [name, sel, narrows] of cases) {
    it(name, async () => {
      const gen = { states: 30000, seed: 11 };
      const viaIoctl = await openTable({ sim: { generate: gen }, transport: 'ioctl' });
      const viaNetlink = await openTable({ sim: { generate: gen }, transport: 'netlink' });
      const a = await viaIoctl.plan(sel), b = await viaNetlink.plan(sel);
      expect(a.counts.selected).toBeGreaterThan(0);
      expect(ids(b)).toEqual(ids(a));
      expect(b.counts).toEqual(a.counts);
      expect(a.scanned).toBe(30000);
      if (narrows) expect(b.scanned).toBeLessThan(30000); // the kernel left states out
      else expect(b.scanned).toBe(30000);
      await viaIoctl.close();
      await viaNetlink.close();
    });
  }
});
