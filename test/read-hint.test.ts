/**
 * #10 item 10: over netlink a kernel-side read filter must never cost a selected state or its
 * partner. Differential: random --src/--dst (client, server, NAT/WAN and firewall addresses, whole
 * prefixes), optionally with --proto, killed over the ioctls and over netlink on identical simulated
 * tables: the same states die, the same survive.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { openTable, plannedStates, type Selection } from '../src/index.js';
import { createSimKernel } from '../src/backends/sim.js';
import { closeSelectPool } from '../src/engine/select.js';
import { decodeState } from '../src/table/records.js';
import { validateSelections } from '../src/engine/validate.js';
import { readHintFor } from '../src/engine/read-hint.js';
import type { SimKernelHandle } from '../src/native/types-sim.js';

afterAll(closeSelectPool);

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const STATES = 12000;
const gen = (seed: number): SimKernelHandle => createSimKernel({ generate: { states: STATES, seed }, version: 15, compat14: true });

async function survivors(k: SimKernelHandle): Promise<string[]> {
  const t = await openTable({ sim: k, transport: 'ioctl' });
  const s = await t.snapshot();
  const ids = Array.from({ length: s.count }, (_, i) => decodeState(s.bytes, i, s.layout).id).sort();
  await t.close();
  return ids;
}

describe('read hints never lose a partner', () => {
  it('the hint: never a family, no ICMP protocol, an address only for one selection with src/dst', () => {
    // readHintFor reads validated, compiled selections (what StateTable.plan hands it).
    const hint = (sels: Selection[]) => readHintFor(validateSelections(sels, { backend: 'pf' }).compiled);
    expect(hint([{ gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }], af: 'inet' }])).toEqual({});
    expect(hint([{ src: { af: 'inet', addr: '10.0.0.1', prefix: 32 }, proto: 1 }])).not.toHaveProperty('proto');
    expect(hint([{ src: { af: 'inet', addr: '10.0.0.1', prefix: 32 }, proto: 6 }])).toMatchObject({ proto: 6 });
    expect(hint([{ src: { af: 'inet', addr: '10.0.0.1', prefix: 32 } }, { proto: 6 }])).toEqual({});
    // Two protocols (OR) or two sources: no single value to filter on.
    expect(hint([{ src: [{ af: 'inet', addr: '10.0.0.1', prefix: 32 }, { af: 'inet', addr: '10.0.0.2', prefix: 32 }], proto: [6, 17] }])).toEqual({});
  });

  it('--src with a NAT address over netlink kills what the ioctl path kills (4,133 vs 0 before)', async () => {
    const sel: Selection[] = [{ src: { af: 'inet', addr: '198.51.100.2', prefix: 32 } }];
    const a = gen(7), b = gen(7);
    const ta = await openTable({ sim: a, transport: 'ioctl' }), tb = await openTable({ sim: b, transport: 'netlink' });
    const ra = await ta.kill(sel), rb = await tb.kill(sel);
    expect(ra.report.paired).toBeGreaterThan(100);
    expect(rb.report).toMatchObject({ selected: ra.report.selected, paired: ra.report.paired, killed: ra.report.killed });
    expect(await survivors(b)).toEqual(await survivors(a));
    await ta.close();
    await tb.close();
  });

  it('random src/dst (client, server, NAT, firewall, prefixes, protocols): identical kills over both transports', async () => {
    const rnd = prng(20240611);
    const source = gen(11);
    const t0 = await openTable({ sim: source, transport: 'ioctl' });
    const snap = await t0.snapshot();
    await t0.close();
    // Addresses the table really has: every key address of random states (wire and stack, both ends).
    const pool: Array<{ af: 'inet' | 'inet6'; addr: string }> = [
      { af: 'inet', addr: '198.51.100.2' }, { af: 'inet', addr: '203.0.113.2' }, { af: 'inet', addr: '192.168.1.1' },
    ];
    for (let i = 0; i < 60; i++) {
      const d = decodeState(snap.bytes, Math.floor(rnd() * snap.count), snap.layout);
      const k = d.key[Math.floor(rnd() * 2)];
      pool.push({ af: d.af, addr: k.addr[Math.floor(rnd() * 2)] });
    }
    let narrowed = 0, fellBack = 0;
    for (let round = 0; round < 16; round++) {
      const p = pool[Math.floor(rnd() * pool.length)];
      const prefix = p.af === 'inet' ? [32, 32, 24, 16][Math.floor(rnd() * 4)] : [128, 128, 64][Math.floor(rnd() * 3)];
      const end = { af: p.af, addr: p.addr, prefix };
      const sel: Selection = rnd() < 0.5 ? { src: end } : { dst: end };
      if (rnd() < 0.3) sel.proto = [6, 17, 1][Math.floor(rnd() * 3)];
      const seed = 100 + round;
      const a = gen(seed), b = gen(seed);
      const ta = await openTable({ sim: a, transport: 'ioctl' }), tb = await openTable({ sim: b, transport: 'netlink' });
      const pa = await ta.plan([sel], { force: true }), pb = await tb.plan([sel], { force: true }); // random prefixes may carry host bits
      const ids = (pl: typeof pa) => [...plannedStates(pl)].map((s) => `${s.id}/${s.reason}`).sort();
      expect(ids(pb), JSON.stringify(sel)).toEqual(ids(pa));
      if (pb.scanned < STATES) narrowed++;
      else fellBack++;
      const ra = await ta.execute(pa), rb = await tb.execute(pb);
      expect(rb.killed).toBe(ra.killed);
      expect(await survivors(b)).toEqual(await survivors(a));
      await ta.close();
      await tb.close();
    }
    // Both kinds happened: reads the kernel narrowed, and reads redone in full (NAT/WAN addresses).
    expect(narrowed).toBeGreaterThan(0);
    expect(fellBack).toBeGreaterThan(0);
  }, 180_000);
});
