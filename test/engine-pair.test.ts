/**
 * Pairing (native/engine/pair.cc): the plan equals an independent model of pf's kill_match rule on
 * random tables full of key collisions, and pairing stays linear when thousands of states share a
 * key (issue 10 item 18: 40k duplicates took 4.3 s, 8k + 8k took 9.8 s and 2.6 GB).
 */
import { describe, expect, it } from 'vitest';
import { createSimKernel, decodeState, openTable, parseCidr, plannedStates } from '../src/index.js';
import type { Plan, PlanOptions, Selection } from '../src/index.js';
import { GW1, GW1B, GW2, GW6, NAT1, NAT2, modelPlan, randomStates, recordsOf } from './pf-model.js';

const SELECTIONS: Selection[][] = [
  [{ gateways: [parseCidr(GW1)] }],
  [{ gateways: [parseCidr('198.51.100.0/24')] }],
  [{ gateways: [parseCidr(GW2), parseCidr(GW1B)] }],
  [{ gateways: [parseCidr(GW1)] }, { natAddrs: [parseCidr(NAT1)] }],
  [{ natAddrs: [parseCidr(NAT2)] }],
  [{ gateways: [parseCidr(GW6)] }],
  [{ gateways: [parseCidr(GW1)], proto: 17 }, { gateways: [parseCidr(GW2)], af: 'inet' }],
];

function planSets(plan: Plan) {
  const ids = [...plannedStates(plan)];
  const of = (reason: string) => new Set(ids.filter((p) => p.reason === reason).map((p) => p.id));
  return { selected: of('selected'), paired: of('paired'), ambiguous: of('ambiguous') };
}

describe('pairing equals an independent model of pf\'s rule on random tables', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: every selection, both rules, with and without killAmbiguous`, async () => {
      const states = randomStates(seed, 3000);
      const table = await openTable({ sim: createSimKernel({ records: recordsOf(states) }) });
      try {
        const snap = await table.snapshot();
        const decoded = Array.from({ length: snap.count }, (_, i) => decodeState(snap.bytes, i, snap.layout));
        let ambiguousSeen = 0, pairedSeen = 0;
        for (const selections of SELECTIONS) {
          for (const opts of [{ pairRule: 'kernel' }, { pairRule: 'kernel+stack' }, { pair: false }] as PlanOptions[]) {
            const model = modelPlan(decoded, selections, opts);
            const plan = await table.plan(selections, { ...opts, force: true }); // random prefixes and unscoped link-local gateways too
            expect(planSets(plan)).toEqual(model);
            expect(plan.counts).toEqual({ selected: model.selected.size, paired: model.paired.size, ambiguous: model.ambiguous.size });
            ambiguousSeen += model.ambiguous.size;
            pairedSeen += model.paired.size;
            // killAmbiguous: the same candidates join the kill list, ids and all.
            const k = await table.plan(selections, { ...opts, killAmbiguous: true, force: true });
            expect(k.indices.length).toBe(plan.indices.length + plan.counts.ambiguous);
            expect(new Set([...plannedStates(k)].filter((p) => p.reason === 'ambiguous').map((p) => p.id))).toEqual(model.ambiguous);
            // Ids in the plan are the records' own.
            for (let i = 0; i < k.indices.length; i += 97)
              expect(k.ids![i]).toBe(Buffer.from(snap.bytes.buffer, snap.bytes.byteOffset + k.indices[i] * 384 + 8, 8).readBigUInt64LE());
          }
        }
        expect(ambiguousSeen).toBeGreaterThan(0);
        expect(pairedSeen).toBeGreaterThan(0);
      } finally {
        await table.close();
      }
    });
  }
});

/**
 * n IN states routed to GW1 with one key, and m OUT states answering that key: two records
 * encoded once, then copied with distinct ids (encoding 40k JSON lines would dominate the test).
 */
function duplicates(n: number, m: number): { bytes: Uint8Array; stride: 384 } {
  const inKey = { addr: ['192.168.1.2', '1.1.1.1'], port: [40000, 443] };
  const stack = { addr: ['1.1.1.1', '192.168.1.2'], port: [443, 40000] };
  const wire = { addr: ['1.1.1.1', '198.51.100.2'], port: [443, 50000] };
  const base = { id: '0000000000000001', creatorid: '0badc0de', af: 'inet', proto: 'tcp' };
  const t = recordsOf([
    { ...base, ifname: 'igb1', direction: 'in', key: [inKey, inKey], rt: 'route-to', rt_addr: GW1, rt_ifname: 'igb0' },
    { ...base, ifname: 'igb0', direction: 'out', key: [wire, stack] },
  ]).bytes;
  const bytes = new Uint8Array((n + m) * 384);
  for (let i = 0; i < n + m; i++) {
    bytes.set(t.subarray(i < n ? 0 : 384, i < n ? 384 : 768), i * 384);
    new DataView(bytes.buffer).setBigUint64(i * 384 + 8, BigInt(i + 1), false); // id, big-endian like pf's
  }
  return { bytes, stride: 384 };
}

describe('pairing is linear on duplicate keys', () => {
  // (The simulated kernel removes a state by walking its key's hash chain, so killing tens of
  // thousands of states that share one key is quadratic there; only the 8k case kills.)
  const cases = [
    { name: '40k selected states sharing one key, one partner', n: 40_000, m: 1, paired: 1, ambiguous: 0, kill: false },
    { name: '8k selected + 8k candidates on one key', n: 8_000, m: 8_000, paired: 0, ambiguous: 8_000, kill: true },
    { name: 'one selected state, 40k candidates', n: 1, m: 40_000, paired: 0, ambiguous: 40_000, kill: false },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const table = await openTable({ sim: createSimKernel({ records: duplicates(c.n, c.m) }) });
      try {
        const rssBefore = process.memoryUsage().rss;
        const plan = await table.plan([{ gateways: [parseCidr(GW1)] }]);
        expect(plan.counts).toEqual({ selected: c.n, paired: c.paired, ambiguous: c.ambiguous });
        const withAmb = await table.plan([{ gateways: [parseCidr(GW1)] }], { killAmbiguous: true });
        expect(withAmb.indices.length).toBe(c.n + c.paired + c.ambiguous);
        // Generous guards: the quadratic version took seconds and gigabytes on these.
        expect(plan.phasesMs.pair).toBeLessThan(1000);
        expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 2 ** 20);
        if (c.kill) {
          const r = await table.execute(withAmb, { pfFilterKill: false });
          expect(r.killed).toBe(c.n + c.m);
          expect((await table.snapshot()).count).toBe(0);
        }
      } finally {
        await table.close();
      }
    });
  }
});
