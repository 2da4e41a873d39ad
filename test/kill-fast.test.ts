/**
 * The kernel filter-kill fast path (src/engine/kill-fast.ts, issue 14): on twin simulated kernels,
 * the default execute (pf's own gateway kill for the part it removes exactly, the rest by id) and
 * the exact path (every state by id) leave the same survivors and report the same counts, on the
 * scenario corpus, the realistic and bench profiles and random tables, on every personality and
 * transport. Where the fast path cannot be exact it is not used, and says why.
 */
import { plannedStates } from '../src/engine/plan.js';
import { readdirSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { createSimKernel, decodeState, openTable, parseCidr, PfBackend, PfNetlinkBackend } from '../src/index.js';
import type { Backend, PlanOptions, Selection, SimSource, StatekillError, StateTable } from '../src/index.js';
import type { SimKernelHandle } from '../src/native/types-sim.js';
import { native } from '../src/native/index.js';
import { parseAddr, prefixMask } from '../src/engine/addr.js';
import { GW1, GW1B, GW2, GW6, NAT1, NAT2, randomStates, recordsOf } from './pf-model.js';
import { records, setNextHop } from './pf-records.js';

interface Target {
  name: string;
  version: 12 | 13 | 14 | 15;
  compat14?: boolean;
  transport: 'ioctl' | 'netlink';
  /** pf's gateway kill with kill_match exists (13.1+ NV, or netlink). */
  fast: boolean;
}

const TARGETS: Target[] = [
  { name: 'FreeBSD 12 (ioctl)', version: 12, transport: 'ioctl', fast: false },
  { name: 'FreeBSD 13.1+ (ioctl)', version: 13, transport: 'ioctl', fast: true },
  { name: 'FreeBSD 14 (ioctl)', version: 14, transport: 'ioctl', fast: true },
  { name: 'FreeBSD 14 (netlink)', version: 14, transport: 'netlink', fast: true },
  { name: 'FreeBSD 15 (netlink)', version: 15, transport: 'netlink', fast: true },
  { name: 'FreeBSD 15 + COMPAT_FREEBSD14 (ioctl)', version: 15, compat14: true, transport: 'ioctl', fast: true },
  { name: 'FreeBSD 15 + COMPAT_FREEBSD14 (netlink)', version: 15, compat14: true, transport: 'netlink', fast: true },
];

const SCENARIOS = new URL('./fixtures/scenarios/', import.meta.url).pathname;
const g = (t: string) => parseCidr(t, 'test gateway');

const SELECTIONS: Selection[][] = [
  [{ gateways: [g(GW1)] }],
  [{ gateways: [g(GW2)] }],
  [{ name: 'two', gateways: [g(GW1), g(GW1B)] }],
  [{ gateways: [g('198.51.100.0/24')] }],
  [{ gateways: [g(GW1)] }, { natAddrs: [g(NAT1)] }], // the policy's failover pair: filter + by id
  [{ natAddrs: [g(NAT2)] }], // nothing for pf's gateway filter: all by id
  [{ gateways: [g(GW6)] }],
  [{ gateways: [g(GW2)], af: 'inet' }],
];
const OPTIONS: PlanOptions[] = [{}, { pairRule: 'kernel' }, { killAmbiguous: true }, { pair: false }];

function simOf(t: Target, src: SimSource): SimKernelHandle {
  return createSimKernel({ ...src, version: t.version, compat14: t.compat14 });
}

function openOn(t: Target, sim: SimKernelHandle): Promise<StateTable> {
  return openTable({ sim, transport: t.transport });
}

async function idsAlive(table: StateTable): Promise<string[]> {
  const s = await table.snapshot();
  return Array.from({ length: s.count }, (_, i) => decodeState(s.bytes, i, s.layout).id).sort();
}

interface Tally { fast: number; byId: number; reasons: Set<string> }

/** Both paths on twin kernels: same plan, same counts, same survivors. Returns the fast one's path. */
async function compare(t: Target, src: SimSource, selections: Selection[], opts: PlanOptions, tally: Tally): Promise<void> {
  const exactT = await openOn(t, simOf(t, src));
  const fastT = await openOn(t, simOf(t, src));
  try {
    // force: the corpus names unscoped link-local gateways too (both paths match them on every link).
    const pe = await exactT.plan(selections, { ...opts, force: true });
    const pf = await fastT.plan(selections, { ...opts, force: true });
    expect(Array.from(pf.indices)).toEqual(Array.from(pe.indices));
    const re = await exactT.execute(pe, { pfFilterKill: false });
    const rf = await fastT.execute(pf);
    const counts = (r: typeof re) => ({ killed: r.killed, alreadyGone: r.alreadyGone, failed: r.failed });
    expect(counts(rf)).toEqual(counts(re));
    expect(re.killed).toBe(pe.indices.length);
    expect(re.killPath).toMatchObject({ path: 'by-id' });
    expect(await idsAlive(fastT)).toEqual(await idsAlive(exactT));
    if (rf.killPath!.path === 'kernel-filter') {
      tally.fast++;
      expect(rf.killPath).toMatchObject({ countMatches: true, alsoKillsNewStates: true });
      expect(rf.killPath!.counted).toBe(rf.killPath!.planned);
      expect(Array.from(rf.results).every((r) => r === 0)).toBe(true);
    } else {
      tally.byId++;
      tally.reasons.add(rf.killPath!.reason!);
    }
  } finally {
    await exactT.close();
    await fastT.close();
  }
}

const scenarioFiles = readdirSync(SCENARIOS).filter((f) => f.endsWith('.jsonl'));

for (const t of TARGETS) {
  describe(`fast path = exact path: ${t.name}`, () => {
    const tally: Tally = { fast: 0, byId: 0, reasons: new Set() };

    it('scenario corpus: every file, every selection, every pairing option', async () => {
      for (const f of scenarioFiles)
        for (const sel of SELECTIONS)
          for (const opts of OPTIONS) await compare(t, { file: SCENARIOS + f }, sel, opts, tally);
    });

    it('realistic profile (20k states)', async () => {
      for (const sel of SELECTIONS.slice(0, 5))
        for (const opts of [{}, { pairRule: 'kernel' }] as PlanOptions[])
          await compare(t, { generate: { states: 20_000, seed: 3, profile: 'realistic' } }, sel, opts, tally);
    });

    it('bench profile (20k states)', async () => {
      await compare(t, { generate: { states: 20_000, seed: 1, profile: 'bench' } }, [{ gateways: [g(GW1)] }], {}, tally);
    });

    it('random tables with colliding keys', async () => {
      for (const seed of [11, 12])
        for (const sel of SELECTIONS)
          for (const opts of [{}, { killAmbiguous: true }] as PlanOptions[])
            await compare(t, { records: recordsOf(randomStates(seed, 1500)) }, sel, opts, tally);
    });

    it(t.fast ? 'used pf\'s gateway kill wherever exact, and said why elsewhere' : 'never used the filter kill (the struct ioctl has no gateway)', () => {
      if (t.fast) {
        expect(tally.fast).toBeGreaterThan(50);
        expect([...tally.reasons].some((r) => /NAT|natAddrs/.test(r))).toBe(true);
      } else {
        expect(tally.fast).toBe(0);
        expect([...tally.reasons].some((r) => /DIOCKILLSTATES\)/.test(r))).toBe(true);
      }
    });
  });
}

// ---- what the fast path refuses, and what differs ---------------------------------------------

// 01 IN via GW1 wants an OUT state with stack key 1.1.1.1:443 -> 192.168.1.2:4000: 02 (NAT on igb0)
// and 03 (on igb3, itself routed to GW1) both have it. 03 in turn wants an IN state with 01's wire
// key: 01 and 04 (a floating duplicate) both have it. The plan kills 01 and 03 and reports 02 and
// 04 as ambiguous. pf's own scan kills one of them as well, whichever of 01/03 it meets first: the
// first removal leaves the other's lookup unique.
const inKey = { addr: ['192.168.1.2', '1.1.1.1'], port: [4000, 443] };
const outStack = { addr: ['1.1.1.1', '192.168.1.2'], port: [443, 4000] };
const base = { creatorid: '0badc0de', af: 'inet', proto: 'tcp' };
const ambiguousOnGateway = [
  { ...base, id: '0000000000000001', ifname: 'igb1', direction: 'in', key: [inKey, inKey], rt: 'route-to', rt_addr: GW1, rt_ifname: 'igb0' },
  { ...base, id: '0000000000000002', ifname: 'igb0', direction: 'out', key: [{ addr: ['1.1.1.1', NAT1], port: [443, 5000] }, outStack] },
  { ...base, id: '0000000000000003', ifname: 'igb3', direction: 'out', key: [outStack, outStack], rt: 'route-to', rt_addr: GW1, rt_ifname: 'igb0' },
  { ...base, id: '0000000000000004', ifname: 'all', orig_ifname: 'igb2', direction: 'in', key: [inKey, inKey] },
];

const rtFilter = (c: string) => {
  const x = g(c);
  return { af: (x.af === 'inet' ? 2 : 28) as 2 | 28, rtAddr: { addr: parseAddr(x.addr)!.bytes, mask: prefixMask(x.af, x.prefix) }, killMatch: true };
};

describe('where the fast path is not exact, the plan goes by id and says why', () => {
  it('an ambiguous pf-rule partner that is itself on the gateway (pf\'s result would depend on its scan order)', async () => {
    const records = recordsOf(ambiguousOnGateway);
    const table = await openTable({ sim: createSimKernel({ records }) });
    try {
      const plan = await table.plan([{ gateways: [g(GW1)] }]);
      expect(plan.counts).toMatchObject({ selected: 2, paired: 0, ambiguous: 2 });
      const r = await table.execute(plan);
      expect(r.killPath).toMatchObject({ path: 'by-id' });
      expect(r.killPath!.reason).toMatch(/more than once.*itself on the gateway/);
      expect(await idsAlive(table)).toEqual(['0000000000000002', '0000000000000004']); // the ambiguous candidates live
    } finally {
      await table.close();
    }
    // Why: pf's own gateway kill on the same table kills a third state, in either scan order.
    for (const order of [ambiguousOnGateway, [...ambiguousOnGateway].reverse()]) {
      const twin = createSimKernel({ records: recordsOf(order) });
      expect(PfBackend.onSim(twin).killByFilter(rtFilter(GW1))).toBe(3);
    }
  });

  it("a state of the selected state's own direction with its partner key (pf_find_state_all checks no direction)", async () => {
    // 01 (IN via GW1) has no outbound partner; 05, a port-forward IN state on WAN2 whose stack key
    // is 01's wire key reversed, is what pf's lookup finds (it walks the key's stack list for
    // PF_OUT, any direction), so pf's gateway kill would kill 05, a connection the plan leaves.
    // With 02 (the real partner) there too, pf finds two and spares 02, which the plan kills.
    const pfwd = { ...base, id: '0000000000000005', ifname: 'igb3', direction: 'in', key: [{ addr: ['1.1.1.1', NAT2], port: [443, 6000] }, outStack],
      rt: 'reply-to', rt_addr: GW2, rt_ifname: 'igb3' };
    for (const states of [[ambiguousOnGateway[0], pfwd], [ambiguousOnGateway[0], ambiguousOnGateway[1], pfwd]]) {
      for (const t of TARGETS.filter((x) => x.fast)) {
        const exact = await openOn(t, simOf(t, { records: recordsOf(states) }));
        const fast = await openOn(t, simOf(t, { records: recordsOf(states) }));
        try {
          const pe = await exact.plan([{ gateways: [g(GW1)] }]);
          const pf = await fast.plan([{ gateways: [g(GW1)] }]);
          await exact.execute(pe, { pfFilterKill: false });
          const r = await fast.execute(pf);
          expect(await idsAlive(fast), t.name).toEqual(await idsAlive(exact));
          expect(await idsAlive(fast), t.name).toContain('0000000000000005');
          expect(r.killPath, t.name).toMatchObject({ path: 'by-id' });
          expect(r.killPath!.reason, t.name).toMatch(/either direction/);
        } finally {
          await exact.close();
          await fast.close();
        }
      }
    }
  });

  it('the pair pass probes the other direction unless told not to; unprobed, its answer is "unknown" (all selections)', async () => {
    const pfwd = { ...base, id: '0000000000000005', ifname: 'igb3', direction: 'in', key: [{ addr: ['1.1.1.1', NAT2], port: [443, 6000] }, outStack],
      rt: 'reply-to', rt_addr: GW2, rt_ifname: 'igb3' };
    const { bytes } = recordsOf([ambiguousOnGateway[0], pfwd]);
    const pair = (off?: boolean) => native.pfPair(bytes, 384, 2, Int32Array.of(0), Uint32Array.of(1), true, off);
    expect(pair().kernelOffDirectionMask).toBe(1); // 05 has 01's partner key with 01's own direction
    expect(pair(true).kernelOffDirectionMask).toBe(1);
    expect(pair(false).kernelOffDirectionMask).toBe(0xffffffff); // never read as "none found"
    expect(pair(false).paired.indices).toEqual(pair(true).paired.indices); // the plan itself is unchanged
    // A plan with no selection pf's gateway kill could take skips the probe, and still kills the same.
    for (const t of TARGETS.filter((x) => x.fast)) {
      const table = await openOn(t, simOf(t, { records: recordsOf([ambiguousOnGateway[0], pfwd]) }));
      try {
        const spy = vi.spyOn(native, 'pfPair');
        const plan = await table.plan([{ interfaces: ['igb1'] }]);
        expect(spy.mock.calls.at(-1)?.[6], t.name).toBe(false);
        await table.plan([{ gateways: [g(GW1)] }]);
        expect(spy.mock.calls.at(-1)?.[6], t.name).toBe(true);
        spy.mockRestore();
        expect(plan.counts.selected, t.name).toBe(1);
      } finally {
        await table.close();
      }
    }
  });

  it('selections pf\'s filter cannot express: scoped gateway, zero prefix, proto, interface, NAT address', async () => {
    const cases: [Selection, RegExp][] = [
        [{ gateways: [g('fe80::1%igb0')] }, /scoped gateway/],
        [{ gateways: [g('0.0.0.0/0')] }, /zero address/],
        [{ gateways: [g(GW1)], proto: 6 }, /uses proto/],
        [{ gateways: [g(GW1)], interfaces: ['igb1'] }, /uses interfaces/],
        [{ natAddrs: [g(NAT1)] }, /uses natAddrs/],
      ];
    for (const [sel, why] of cases) {
      const table = await openTable({ sim: createSimKernel({ generate: { states: 5000, seed: 2 } }) });
      try {
        const plan = await table.plan([sel], { force: true }); // 0.0.0.0/0 needs force
        expect(plan.indices.length).toBeGreaterThan(0);
        const r = await table.execute(plan);
        expect(r.killPath!.path).toBe('by-id');
        expect(r.killPath!.reason).toMatch(why);
        expect(r.killed).toBe(plan.indices.length);
      } finally {
        await table.close();
      }
    }
  });

  it('pfFilterKill: false kills every state by id; a dry run kills nothing and has no kill path', async () => {
    const table = await openTable({ sim: createSimKernel({ generate: { states: 5000, seed: 2 } }) });
    try {
      const dry = await table.kill([{ gateways: [g(GW1)] }], { dryRun: true });
      expect(dry.report.killPath).toBeUndefined();
      const r = await table.kill([{ gateways: [g(GW1)] }], { pfFilterKill: false });
      expect(r.report.killPath).toEqual({ path: 'by-id', reason: 'by id as asked', filters: 0, planned: 0, counted: 0, countMatches: true, alsoKillsNewStates: false });
      expect(r.report.killed).toBe(r.plan.indices.length);
    } finally {
      await table.close();
    }
  });
});

describe('what pf\'s filter does that a by-id kill does not', () => {
  const newState = (id: string) => ({
    id, creatorid: '0badc0de', ifname: 'igb1', af: 'inet', proto: 'udp', direction: 'in',
    key: [{ addr: ['192.168.1.77', '8.8.8.8'], port: [5353, 53] }, { addr: ['192.168.1.77', '8.8.8.8'], port: [5353, 53] }],
    rt: 'route-to', rt_addr: GW1, rt_ifname: 'igb0',
  });

  /** A generated 5000-state table, opened over `transport`, closed after `fn`. */
  async function onTable(fn: (sim: SimKernelHandle, table: StateTable) => Promise<void>, transport: 'ioctl' | 'netlink' = 'ioctl') {
    const sim = createSimKernel({ generate: { states: 5000, seed: 4 } });
    const table = await openTable({ sim, transport });
    try {
      await fn(sim, table);
    } finally {
      await table.close();
    }
  }

  for (const transport of ['ioctl', 'netlink'] as const) {
    it(`${transport}: a state created on the gateway after the read dies too; the count says so`, () => onTable(async (sim, table) => {
      const plan = await table.plan([{ gateways: [g(GW1)] }]);
      sim.load(recordsOf([newState('00000000ffff0001')]).bytes, 384); // a new connection meanwhile
      const r = await table.execute(plan);
      expect(r.killPath).toMatchObject({ path: 'kernel-filter', countMatches: false, alsoKillsNewStates: true });
      expect(r.killPath!.counted).toBe(r.killPath!.planned + 1);
      expect(r.killed).toBe(plan.indices.length); // the plan's states, all gone
      // The count disagreed, so the filter part was confirmed by id: each answered "already gone";
      // the rest (partners pf's rule cannot see) was killed by id.
      expect(Array.from(r.results).filter((x) => x === 1).length).toBe(r.killPath!.planned);
      expect(Array.from(r.results).every((x) => x === 0 || x === 1)).toBe(true);
      expect(await idsAlive(table)).not.toContain('00000000ffff0001');
    }, transport));
  }

  it('with a by-id part too (NAT address, port-forward partners): the filter part confirmed gone, the rest killed by id', () => onTable(async (sim, table) => {
    const plan = await table.plan([{ gateways: [g(GW1)] }, { natAddrs: [g(NAT1)] }]);
    sim.load(recordsOf([newState('00000000ffff0001')]).bytes, 384);
    const r = await table.execute(plan);
    expect(r.killPath).toMatchObject({ path: 'kernel-filter', countMatches: false });
    const codes = Array.from(r.results);
    expect(codes.filter((x) => x === 1).length).toBe(r.killPath!.planned);
    expect(codes.filter((x) => x === 0).length).toBe(plan.indices.length - r.killPath!.planned);
    expect(plan.indices.length - r.killPath!.planned).toBeGreaterThan(100);
    expect(r.killed).toBe(plan.indices.length);
  }));

  it("a kernel whose gateway kill misses planned states: the confirming pass kills them by id (no silent miss)", () => onTable(async (_sim, table) => {
    const plan = await table.plan([{ gateways: [g(GW1)] }]);
    // A kernel that answers the request but removes nothing (as one that ignored or misread a key would).
    const be = table.backend as Backend & { killByFilter(f: unknown): number };
    be.killByFilter = () => 0;
    const r = await table.execute(plan);
    expect(r.killPath).toMatchObject({ path: 'kernel-filter', counted: 0, countMatches: false });
    expect(Array.from(r.results).every((x) => x === 0)).toBe(true); // every planned state killed by id
    expect(r.killed).toBe(plan.indices.length);
    const alive = new Set(await idsAlive(table));
    for (const p of plannedStates(plan)) if (p.reason !== 'ambiguous') expect(alive.has(p.id)).toBe(false);
  }));

  it('an abort during the confirming pass: the report still matches the table, and progress never goes back', () => onTable(async (_sim, table) => {
    const plan = await table.plan([{ gateways: [g(GW1)] }, { natAddrs: [g(NAT1)] }]);
    const before = (await table.snapshot()).count;
    const be = table.backend as Backend & { killByFilter(f: unknown): number };
    be.killByFilter = () => 0; // the kernel's gateway kill misses everything: only the confirming pass kills
    const ac = new AbortController();
    const progress: number[] = [];
    const e = await table.execute(plan, { batch: 50, signal: ac.signal, onProgress: (p) => { progress.push(p.done); if (progress.length === 2) ac.abort(); } })
      .then(() => undefined, (x: StatekillError) => x);
    expect(e).toMatchObject({ code: 'ABORT_ERR' });
    const report = e!.report!;
    expect(report.killPath).toMatchObject({ path: 'kernel-filter', counted: 0, countMatches: false });
    // The part pf's kill should have taken is confirmed whole (an abort cannot leave it half-known);
    // the by-id rest stops at the abort.
    expect(report.killed).toBeGreaterThanOrEqual(report.killPath!.planned);
    expect(report.notAttempted).toBeGreaterThan(0);
    expect(report.killed + report.notAttempted).toBe(plan.indices.length);
    expect((await table.snapshot()).count).toBe(before - report.killed);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  }));

  it('by id, the same new state survives (only the plan dies)', () => onTable(async (sim, table) => {
    const plan = await table.plan([{ gateways: [g(GW1)] }]);
    sim.load(recordsOf([newState('00000000ffff0001')]).bytes, 384);
    await table.execute(plan, { pfFilterKill: false });
    expect(await idsAlive(table)).toContain('00000000ffff0001');
  }));

  it('a planned state that vanished before the kill: counted below the plan, reported as already gone', () => onTable(async (_sim, table) => {
    const plan = await table.plan([{ gateways: [g(GW1)] }], { pairRule: 'kernel' });
    const be = table.backend as Backend & { killIds(ids: BigUint64Array, c: Uint32Array, o: Int32Array): void };
    be.killIds(plan.ids!.subarray(0, 1), plan.creatorids!.subarray(0, 1), new Int32Array(1)); // gone meanwhile
    const r = await table.execute(plan);
    expect(r.killPath).toMatchObject({ path: 'kernel-filter', countMatches: false });
    expect(r.killPath!.counted).toBeLessThan(r.killPath!.planned);
    expect(r.killed + r.alreadyGone).toBe(plan.indices.length);
    expect(r.alreadyGone).toBeGreaterThan(0);
  }));
});

describe('the all-zero filter guard stays', () => {
  const makers: [string, (s: SimKernelHandle) => PfBackend | PfNetlinkBackend][] = [
    ['ioctl', (s) => PfBackend.onSim(s)], ['netlink', (s) => PfNetlinkBackend.onSim(s)]];
  for (const [name, mk] of makers) {
    it(`${name}: refuses a gateway filter with a zero mask, and kills nothing`, () => {
      const sim = createSimKernel({ generate: { states: 1000, seed: 1 } });
      const be = mk(sim);
      expect(() => be.killByFilter({ rtAddr: { addr: new Uint8Array(16), mask: new Uint8Array(16) }, killMatch: true })).toThrow(/no criteria|matches every/);
      expect(sim.count()).toBe(1000);
      be.close();
    });
  }
});

// ---- the library's pf-rule-only kill: validated like every selection (issue 10 items 2, 4, 8) -----

describe('table.killByKernelRule validates its selections as plan() does', () => {
  const onGenerated = async (fn: (t: StateTable, sim: SimKernelHandle) => Promise<void>) => {
    const sim = createSimKernel({ generate: { states: 5000, seed: 2 } });
    const t = await openTable({ sim });
    try {
      await fn(t, sim);
    } finally {
      await t.close();
    }
  };
  const cases: [string, Selection, RegExp][] = [
    ['an unscoped link-local gateway (both WANs\' fe80::1)', { gateways: [{ af: 'inet6', addr: 'fe80::1', prefix: 128 }] }, /link-local gateway is on every link/],
    ['host bits below the prefix length (198.51.100.1/24 reaches GW_WAN1B)', { gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 24 }] }, /host bits/],
    ['an empty af list', { gateways: [g(GW1)], af: [] }, /empty list/],
    ['an empty natAddrs list beside the gateway', { gateways: [g(GW1)], natAddrs: [] }, /empty list/],
    ['an empty proto list', { gateways: [g(GW1)], proto: [] }, /empty list/],
    ["af 'ipv4'", { gateways: [g(GW1)], af: 'ipv4' as 'inet' }, /expected 'inet' or 'inet6'/],
    ['a conntrack criterion', { gateways: [g(GW1)], mark: { value: 1, mask: 1 } }, /conntrack entries only/],
  ];
  for (const [what, sel, why] of cases)
    it(`refuses ${what} with E_BAD_INPUT, killing nothing`, () => onGenerated(async (t, sim) => {
      expect(() => t.killByKernelRule([sel])).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT', message: expect.stringMatching(why) }));
      expect(sim.count()).toBe(5000);
    }));

  it('force: true accepts what --force accepts (the link-local gateway on every link)', () => onGenerated(async (t, sim) => {
    const r = t.killByKernelRule([{ gateways: [{ af: 'inet6', addr: 'fe80::1', prefix: 128 }] }], { force: true });
    expect(r.killed).toBeGreaterThan(0);
    expect(sim.count()).toBe(5000 - r.killed);
  }));

  it('without kill_match (pair: false) it says every partner is left, not only those pf cannot see', () => onGenerated(async (t) => {
    const r = t.killByKernelRule([{ gateways: [g(GW1)] }], { pair: false });
    expect(r.left).toMatch(/every partner/);
    const m = t.killByKernelRule([{ gateways: [g(GW2)] }]);
    expect(m.left).toMatch(/partners pf's rule cannot see/);
    expect(m.left).toMatch(/not unique/);
  }));
});

// ---- a next hop of the other family (FreeBSD 15, RFC 8950) ----------------------------------------

// pf's filter compares rt_addr in the state's own (wire key's) family and checks psk_af against it
// (pf_killstates_row, sys/netpfil/pf/pf_ioctl.c: PF_MATCHA(..., &s->rt_addr, sk->af)): an IPv4
// state routed via 2001:db8::1 reads as next hop 32.1.13.184 there, and an IPv6 gateway filter never
// sees it. The engine matches the next hop in its own family (PF_ST_RT_AF). Where the two differ
// for a state of the table, pf's gateway kill is not exactly the plan: by id.
describe("a next hop of the other family: pf's filter reads it in the state's family", () => {
  const st = (id: string, src: string, rt: string) => ({
    id, creatorid: '0badc0de', ifname: 'igb1', af: 'inet', proto: 'tcp', direction: 'in',
    key: [{ addr: [src, '8.8.8.8'], port: [40000, 443] }, { addr: [src, '8.8.8.8'], port: [40000, 443] }],
    rt: 'route-to', rt_addr: rt, rt_ifname: 'igb0',
  });
  const sim = () => {
    const t = records([st('00000000000000a1', '192.168.1.10', '1.2.3.4'), st('00000000000000a2', '192.168.1.11', '32.1.13.184'),
      st('00000000000000a3', '192.168.1.12', '198.51.100.1')]);
    setNextHop(t.bytes, 0, '2001:db8::1'); // a1: IPv4 via an IPv6 next hop
    return createSimKernel({ version: 15, records: { bytes: t.bytes, stride: 384 } });
  };
  const cases: [string, Selection, string[]][] = [
    ['an IPv4 gateway whose bytes are the IPv6 next hop\'s first word: pf would kill a1 too', { gateways: [g('32.1.13.184')] }, ['00000000000000a1', '00000000000000a3']],
    ['the IPv6 next hop itself: pf\'s IPv6 filter never matches the IPv4 state', { gateways: [g('2001:db8::1')] }, ['00000000000000a2', '00000000000000a3']],
  ];
  for (const [what, sel, survivors] of cases)
    it(`${what}; by id, same survivors as --by-id`, async () => {
      for (const byId of [false, true]) {
        const table = await openTable({ sim: sim(), transport: 'netlink' });
        try {
          const plan = await table.plan([sel]);
          expect(plan.counts.selected).toBe(1);
          const r = await table.execute(plan, { pfFilterKill: !byId });
          expect(await idsAlive(table)).toEqual(survivors);
          expect(r.killed).toBe(1);
          expect(r.killPath).toMatchObject({ path: 'by-id' });
          if (!byId) expect(r.killPath!.reason).toMatch(/next hop of the other family/);
        } finally {
          await table.close();
        }
      }
    });

  it('a table without such states still takes the fast path', async () => {
    const table = await openTable({ sim: sim(), transport: 'netlink' });
    try {
      const r = (await table.kill([{ gateways: [g(GW1)] }])).report;
      expect(r.killPath).toMatchObject({ path: 'kernel-filter', countMatches: true });
      expect(await idsAlive(table)).toEqual(['00000000000000a1', '00000000000000a2']);
    } finally {
      await table.close();
    }
  });
});
