/**
 * Differential test (issue 3): on generated tables, statekill's userland path (select by gateway,
 * pair by pf's own kill_match rule, kill by id) and the simulated kernel's own gateway kill with
 * kill_match (`pfctl -M -k gateway -k ADDR`, run on an identical twin table) leave the same states
 * alive, wherever no partner is ambiguous. Ambiguous candidates are excluded from the comparison;
 * they are also checked to survive both (pf kills none of a non-unique match, statekill reports them).
 * And: worker counts 0, 1 and 2 give identical plans.
 */
import { describe, expect, it } from 'vitest';
import { createSimKernel, decodeState, openTable, parseCidr, plannedStates, PfBackend } from '../src/index.js';
import type { Cidr, Plan, Snapshot } from '../src/index.js';
import { parseAddr, prefixMask } from '../src/engine/addr.js';

type Gen = { states: number; seed: number; profile: 'realistic' };

const TABLES: Gen[] = [
  { states: 20_000, seed: 1, profile: 'realistic' },
  { states: 50_000, seed: 7, profile: 'realistic' },
  { states: 100_000, seed: 42, profile: 'realistic' },
];
// GW_WAN1, GW_WAN1B (same interface), GW_WAN2, both of WAN1's by prefix, fe80::1 (both IPv6 gateways:
// the kernel's filter has no scope, so the userland side is forced to take it unscoped too).
const GATEWAYS = ['198.51.100.1', '198.51.100.254', '203.0.113.1', '198.51.100.0/24', 'fe80::1'];

/** Every state's id as 16 hex digits (the raw bytes), read straight from the export records. */
function ids(snap: Snapshot): string[] {
  expect(snap.layout).toBe('pf-export');
  const b = Buffer.from(snap.bytes.buffer, snap.bytes.byteOffset, snap.bytes.byteLength);
  const out = new Array<string>(snap.count);
  for (let i = 0; i < snap.count; i++) out[i] = b.toString('hex', i * 384 + 8, i * 384 + 16);
  if (snap.count > 0) expect(out[0]).toBe(decodeState(snap.bytes, 0, snap.layout).id);
  return out;
}

/** States alive in one table and not the other (outside `excluded`): both lists must be empty. */
function difference(a: string[], b: string[], excluded: Set<string>) {
  const sa = new Set(a), sb = new Set(b);
  return {
    onlyUserland: a.filter((x) => !sb.has(x) && !excluded.has(x)),
    onlyKernel: b.filter((x) => !sa.has(x) && !excluded.has(x)),
  };
}

function kernelFilter(c: Cidr) {
  return {
    af: (c.af === 'inet' ? 2 : 28) as 2 | 28,
    killMatch: true,
    rtAddr: { addr: parseAddr(c.addr)!.bytes, mask: prefixMask(c.af, c.prefix) },
  };
}

describe('userland kill vs the kernel\'s own gateway kill with kill_match', () => {
  let ambiguousSeen = 0;

  for (const gen of TABLES) {
    it(`${gen.states} states, seed ${gen.seed}: same survivors for every gateway`, async () => {
      for (const text of GATEWAYS) {
        const gateway = parseCidr(text, 'gateway');
        const userland = await openTable({ sim: createSimKernel({ generate: gen }) });
        const twin = createSimKernel({ generate: gen });
        const kernel = await openTable({ sim: twin });
        try {
          const before = await userland.snapshot();
          const beforeTwin = await kernel.snapshot();
          // The twins are identical, byte for byte.
          expect(before.count).toBe(gen.states);
          expect(Buffer.from(beforeTwin.bytes).equals(Buffer.from(before.bytes))).toBe(true);

          const { plan, report } = await userland.kill([{ gateways: [gateway] }], { pair: true, pairRule: 'kernel', force: text === 'fe80::1' });
          expect(plan.counts.selected).toBeGreaterThan(0);
          expect(plan.counts.paired).toBeGreaterThan(0);
          expect(report.failed).toBe(0);
          expect(report.alreadyGone).toBe(0);
          expect(report.killed).toBe(plan.counts.selected + plan.counts.paired);

          const kernelKilled = (kernel.backend as PfBackend).killByFilter(kernelFilter(gateway));

          const excluded = new Set([...plannedStates(plan)].filter((p) => p.reason === 'ambiguous').map((p) => p.id));
          expect(excluded.size).toBe(plan.counts.ambiguous);
          ambiguousSeen += excluded.size;
          const aliveUser = ids(await userland.snapshot());
          const aliveKernel = ids(await kernel.snapshot());
          expect(difference(aliveUser, aliveKernel, excluded)).toEqual({ onlyUserland: [], onlyKernel: [] });
          // The excluded ones: pf kills none of a non-unique match, statekill reports them without killing.
          const u = new Set(aliveUser), k = new Set(aliveKernel);
          expect([...excluded].filter((id) => !u.has(id) || !k.has(id))).toEqual([]);
          expect(kernelKilled).toBe(report.killed);
          expect(aliveUser.length).toBe(gen.states - report.killed);
        } finally {
          await userland.close();
          await kernel.close();
        }
      }
    });
  }

  it('the tables above had ambiguous partners to exclude', () => {
    // Guards the exclusion itself: without ambiguous cases the comparison above would prove less.
    expect(ambiguousSeen).toBeGreaterThan(0);
  });
});

describe('worker counts give identical plans', () => {
  it('0, 1 and 2 workers: same indices, reasons, masks, ids and ambiguous candidates on 100000 states', async () => {
    const table = await openTable({ sim: createSimKernel({ generate: { states: 100_000, seed: 5, profile: 'realistic' } }) });
    try {
      const selections = [
        { gateways: [parseCidr('198.51.100.1')] },
        { natAddrs: [parseCidr('198.51.100.2')] },
        { gateways: [parseCidr('fe80::1%igb3')] },
        { interfaces: ['igb2'], proto: 6 },
      ];
      const shape = (p: Plan) => ({
        indices: Array.from(p.indices),
        reasons: Array.from(p.reasons),
        selectionMask: Array.from(p.selectionMask),
        ids: Array.from(p.ids!),
        creatorids: Array.from(p.creatorids!),
        ambiguous: Array.from(p.ambiguous),
        counts: p.counts,
        states: [...plannedStates(p)],
      });
      const plans = [];
      for (const workers of [0, 1, 2]) plans.push(shape(await table.plan(selections, { workers })));
      expect(plans[0].counts.selected).toBeGreaterThan(20_000);
      expect(plans[0].counts.paired).toBeGreaterThan(0);
      expect(plans[0].counts.ambiguous).toBeGreaterThan(0);
      // Every selection bit occurs.
      const bits = plans[0].selectionMask.reduce((a, m) => a | m, 0);
      expect(bits).toBe(0b1111);
      expect(plans[1]).toEqual(plans[0]);
      expect(plans[2]).toEqual(plans[0]);
      // And with killAmbiguous the candidates join the kill list identically too.
      const k0 = shape(await table.plan(selections, { workers: 0, killAmbiguous: true }));
      const k2 = shape(await table.plan(selections, { workers: 2, killAmbiguous: true }));
      expect(k2).toEqual(k0);
      expect(k0.indices.length).toBe(plans[0].indices.length + plans[0].counts.ambiguous);
    } finally {
      await table.close();
    }
  });
});
