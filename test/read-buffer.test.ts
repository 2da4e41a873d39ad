/**
 * Reads (issue 14): the 242-byte DIOCGETSTATES read where no selection needs the export record's
 * extra fields, with results identical to the 384-byte read; and the read buffer of a plan that
 * ran reused by the next plan's read, without a plan ever running on overwritten records.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSimKernel, decodeState, openTable, parseCidr, plannedStates, PfBackend } from '../src/index.js';
import type { Plan, Selection, SimSource, StateTable } from '../src/index.js';
import { compactRecordsSuffice } from '../src/engine/compact-read.js';
import { GW1, GW2, NAT1, randomStates, recordsOf } from './pf-model.js';

const g = (t: string) => parseCidr(t, 'test');
const SCENARIOS = new URL('./fixtures/scenarios/', import.meta.url).pathname;

async function idsAlive(table: StateTable): Promise<string[]> {
  const s = await table.snapshot();
  return Array.from({ length: s.count }, (_, i) => decodeState(s.bytes, i, s.layout).id).sort();
}

const shape = (p: Plan) => ({
  counts: p.counts,
  states: [...plannedStates(p)],
  masks: Array.from(p.selectionMask),
  indices: Array.from(p.indices),
});

describe('242-byte reads', () => {
  const COMPACT: Selection[][] = [
    [{ gateways: [g(GW1)] }],
    [{ gateways: [g(GW1)] }, { natAddrs: [g(NAT1)] }],
    [{ gateways: [g('198.51.100.0/24')], proto: 6 }],
    [{ src: g('192.168.1.0/24'), dstPort: 443 }],
    [{ gateways: [g(GW2)], af: 'inet', rules: [10] }],
  ];
  const FULL: Selection[][] = [
    [{ gateways: [g('fe80::1%igb0')] }],
    [{ interfaces: ['igb3'] }],
    [{ rtInterfaces: ['igb0'] }],
    [{ gateways: [g(GW1)], interfaces: ['igb1'] }],
  ];

  it('which selections the compact record answers', () => {
    for (const s of COMPACT) expect(compactRecordsSuffice(s)).toBe(true);
    for (const s of FULL) expect(compactRecordsSuffice(s)).toBe(false);
    // A selector this rule does not know keeps the full record.
    expect(compactRecordsSuffice([{ gateways: [g(GW1)], labels: ['x'] } as Selection])).toBe(false);
    // Empty lists are no selector.
    expect(compactRecordsSuffice([{ gateways: [g(GW1)], interfaces: [] }])).toBe(true);
  });

  for (const p of [{ version: 13 }, { version: 14 }, { version: 15, compat14: true }] as const) {
    const name = `FreeBSD ${p.version}${'compat14' in p ? ' + COMPAT_FREEBSD14' : ''}`;
    it(`${name}: same plans and survivors as the 384-byte read (scenarios, realistic profile, random tables)`, async () => {
      const sources: SimSource[] = [
        ...readdirSync(SCENARIOS).filter((f) => f.endsWith('.jsonl')).map((f) => ({ file: SCENARIOS + f })),
        { generate: { states: 20_000, seed: 9 } },
        { records: recordsOf(randomStates(21, 1500)) },
      ];
      let compactReads = 0;
      for (const src of sources) {
        for (const sel of COMPACT) {
          // ioctl: `auto` reads 15-era kernels over netlink (only its dump carries per-key families).
          const full = await openTable({ sim: createSimKernel({ ...src, ...p }), transport: 'ioctl' });
          const compact = await openTable({ sim: createSimKernel({ ...src, ...p }), transport: 'ioctl' });
          try {
            const pFull = await full.plan(sel, { fullRecords: true });
            expect(full.lastSnapshot!.layout).toBe('pf-export');
            const pCompact = await compact.plan(sel);
            expect(compact.lastSnapshot!.layout).toBe('pf-1301');
            expect(compact.lastSnapshot!.bytes.byteLength).toBe(full.lastSnapshot!.count * 242);
            compactReads++;
            const { indices: _a, ...a } = shape(pFull);
            const { indices: _b, ...b } = shape(pCompact);
            expect(b).toEqual(a);
            const rf = await full.execute(pFull);
            const rc = await compact.execute(pCompact);
            expect(rc.killed).toBe(rf.killed);
            expect(await idsAlive(compact)).toEqual(await idsAlive(full));
          } finally {
            await full.close();
            await compact.close();
          }
        }
      }
      expect(compactReads).toBeGreaterThan(20);
    });
  }

  it('full records where a selection needs them, or where the kernel has only one read', async () => {
    for (const sel of FULL) {
      const t = await openTable({ sim: createSimKernel({ generate: { states: 2000, seed: 1 } }) });
      await t.plan(sel);
      expect(t.lastSnapshot!.layout).toBe('pf-export');
      await t.close();
    }
    for (const [src, layout] of [[{ version: 12 }, 'pf-1301'], [{ version: 15 }, 'pf-export']] as const) {
      const t = await openTable({ sim: createSimKernel({ ...src, generate: { states: 2000, seed: 1 } }) });
      await t.plan([{ gateways: [g(GW1)] }]);
      expect(t.lastSnapshot!.layout).toBe(layout);
      await t.close();
    }
    const nl = await openTable({ sim: createSimKernel({ generate: { states: 2000, seed: 1 } }), transport: 'netlink' });
    await nl.plan([{ gateways: [g(GW1)] }]);
    expect(nl.lastSnapshot!.layout).toBe('pf-export');
    await nl.close();
  });

  it('the pf_state_export version is still checked on a compact read', async () => {
    const sim = createSimKernel({ generate: { states: 2000, seed: 1 }, abiFault: { exportVersion: 20990101 } });
    const t = await openTable({ sim });
    await expect(t.kill([{ gateways: [g(GW1)] }])).rejects.toMatchObject({ code: 'E_ABI_MISMATCH' });
    expect(sim.count()).toBe(2000);
    await t.close();
  });
});

describe('read buffer reuse', () => {
  it('after a plan ran, the next plan reads into its buffer; the old plan cannot run again', async () => {
    const sim = createSimKernel({ generate: { states: 20_000, seed: 6 } });
    const twin = await openTable({ sim: createSimKernel({ generate: { states: 20_000, seed: 6 } }) });
    const t = await openTable({ sim });
    try {
      const a = await t.plan([{ gateways: [g(GW1)] }]);
      const snapA = t.lastSnapshot!;
      // Planned but not yet run: a second plan must not overwrite it.
      const a2 = await t.plan([{ gateways: [g(GW1)] }]);
      expect(t.lastSnapshot!.bytes.buffer).not.toBe(snapA.bytes.buffer);
      const ra = await t.execute(a, { pfFilterKill: false });
      expect(ra.killed).toBe(a.indices.length);
      const b = await t.plan([{ gateways: [g(GW2)] }]);
      const snapB = t.lastSnapshot!;
      expect(snapB.bytes.buffer).toBe(snapA.bytes.buffer); // reused: A's records are overwritten
      const be = t.backend as PfBackend;
      expect(be.isStale(snapA)).toBe(true);
      expect(be.isStale(snapB)).toBe(false);
      // Nothing reads A's overwritten records: A cannot run again, nor can a kill through them.
      await expect(t.execute(a)).rejects.toMatchObject({ code: 'E_STALE_SNAPSHOT' });
      expect(() => be.kill(snapA, Int32Array.of(0), new Int32Array(1))).toThrow(expect.objectContaining({ code: 'E_STALE_SNAPSHOT' }));
      // a2 (its own buffer) still runs: its states are already gone.
      const r2 = await t.execute(a2);
      expect(r2.killed + r2.alreadyGone).toBe(a2.indices.length);
      const rb = await t.execute(b);
      expect(rb.killed).toBe(b.indices.length);
      // The same kills on a twin that never reused anything: the same survivors.
      await twin.execute(await twin.plan([{ gateways: [g(GW1)] }]), { pfFilterKill: false });
      await twin.execute(await twin.plan([{ gateways: [g(GW2)] }]));
      expect(await idsAlive(t)).toEqual(await idsAlive(twin));
    } finally {
      await t.close();
      await twin.close();
    }
  });

  it('a snapshot the caller took is never reused; concurrent plans get their own buffers', async () => {
    const t = await openTable({ sim: createSimKernel({ generate: { states: 5000, seed: 6 } }) });
    try {
      const s = await t.snapshot();
      const before = Buffer.from(s.bytes).toString('hex');
      const p1 = await t.plan([{ gateways: [g(GW1)] }]);
      expect(t.lastSnapshot!.bytes.buffer).not.toBe(s.bytes.buffer);
      await t.execute(p1, { dryRun: true });
      await t.execute(await t.plan([{ gateways: [g(GW2)] }]), { dryRun: true });
      expect(Buffer.from(s.bytes).toString('hex')).toBe(before);
      expect(p1.counts.selected).toBeGreaterThan(0);
      const [x, y] = await Promise.all([t.plan([{ gateways: [g(GW1)] }]), t.plan([{ gateways: [g(GW2)] }])]);
      expect(x.counts).toEqual(p1.counts);
      expect(y.counts.selected).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });

  it('keepReadBuffer: false never reuses; a grown table gets a larger buffer', async () => {
    const sim = createSimKernel({ generate: { states: 5000, seed: 6 } });
    const off = await openTable({ sim, keepReadBuffer: false });
    await off.kill([{ gateways: [g(GW1)] }], { dryRun: true });
    const first = off.lastSnapshot!.bytes.buffer;
    await off.kill([{ gateways: [g(GW1)] }], { dryRun: true });
    expect(off.lastSnapshot!.bytes.buffer).not.toBe(first);
    await off.close();

    const sim2 = createSimKernel({ generate: { states: 5000, seed: 6 } });
    const on = await openTable({ sim: sim2 });
    await on.kill([{ gateways: [g(GW1)] }], { dryRun: true });
    const small = on.lastSnapshot!.bytes.buffer;
    sim2.generate({ states: 20_000, seed: 8 });
    const p = await on.plan([{ gateways: [g(GW1)] }]);
    expect(on.lastSnapshot!.bytes.buffer).not.toBe(small);
    expect(on.lastSnapshot!.count).toBe(25_000);
    expect((await on.execute(p)).killed).toBe(p.indices.length);
    await on.close();
  });
});

describe('a daemon keeps its table between events', () => {
  it('engineKiller keepOpen: one table, the second event reads into the first one\'s buffer; close() ends it', async () => {
    const { engineKiller } = await import('../src/policy/engine-killer.js');
    const sim = createSimKernel({ generate: { states: 5000, seed: 6 } });
    const seen: { table: StateTable; buffer: ArrayBufferLike }[] = [];
    const killer = engineKiller({ sim }, { keepOpen: true, onPlan: (_p, table) => { seen.push({ table, buffer: table.lastSnapshot!.bytes.buffer }); } });
    const r1 = await killer([{ gateways: [g(GW1)] }], 'test');
    const r2 = await killer([{ gateways: [g(GW2)] }], 'test');
    expect(r1.killed).toBeGreaterThan(0);
    expect(r2.killed).toBeGreaterThan(0);
    expect(seen[1].table).toBe(seen[0].table);
    expect(seen[1].buffer).toBe(seen[0].buffer);
    await killer.close();
    expect(() => seen[0].table.describe()).toThrow(/closed/);
    // Without keepOpen each event opens and closes its own table.
    const once = engineKiller({ sim: createSimKernel({ generate: { states: 5000, seed: 6 } }) });
    const tables: StateTable[] = [];
    await once([{ gateways: [g(GW1)] }], 'test');
    const o2 = engineKiller({ sim }, { onPlan: (_p, t) => { tables.push(t); } });
    await o2([{ gateways: [g(GW1)] }], 'a');
    await o2([{ gateways: [g(GW1)] }], 'b');
    expect(tables[1]).not.toBe(tables[0]);
  });
});
