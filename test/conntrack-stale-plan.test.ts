/**
 * Issue 10 item 7: a stale conntrack plan killed re-created entries that now carry another mark. The
 * kernel's CTA_ID is siphash(entry address, tuple, ...), so an entry re-created with the same tuple in
 * the same slab memory gets the same id, and a DELETE by tuple + id hits it (73-140 of 200). Each
 * entry is now re-read before its delete and deleted only if it still matches the plan's selection.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { openTable, type StateTable } from '../src/engine/table.js';
import type { Plan } from '../src/engine/types.js';
import { CT, CT_STRIDE, decodeCtRecord } from '../src/backends/conntrack-record.js';
import { endianness } from 'node:os';
import { ctNamespace, netnsUnavailable } from './conntrack-netns.js';
import { dumpAll, entryRecords, insertEntries, tupleKey, type EntrySpec } from './conntrack-fill.js';

const why = netnsUnavailable();
if (why) console.log(`conntrack-stale-plan: skipping: ${why}`);

const N = 200;
const WAN1 = { mark: 0x100, addr: '100.64.1.2' };
const WAN2 = { mark: 0x200, addr: '100.64.2.2' };
const SELECT = [{ name: 'WAN1', mark: { value: WAN1.mark, mask: 0xff00 } }];

/** N client flows; `wan` decides the mark and the masquerade address (as failover re-pinning does). */
function flows(wan: typeof WAN1, zone = 0): EntrySpec[] {
  return Array.from({ length: N }, (_, i) => ({
    af: 4 as const, proto: 6, src: `10.10.${i >> 8}.${i & 255}`, dst: '192.0.2.80', srcPort: 40000 + i, dstPort: 443,
    replyDst: wan.addr, replyDstPort: 40000 + i, mark: wan.mark | 0x5, zone,
  }));
}

/**
 * The flows end, newest first: freed conntrack memory is reused last-in-first-out (within a slab
 * page), so re-creating them oldest first puts some back into their own old memory, with their old
 * CTA_ID (16 of 200 here, per run).
 */
function endInReverse(fd: number, list: EntrySpec[]): void {
  const out = new Int32Array(list.length);
  native.ctDelete(fd, entryRecords(list), Int32Array.from(list.keys()).reverse(), out, 8192);
  expect([...out].every((x) => x === 0)).toBe(true);
}

describe.skipIf(why !== null)('a stale conntrack plan never kills re-created entries (real kernel, own netns)', () => {
  const { ns, fd } = ctNamespace('st');
  // Freed entries go back to the freeing CPU's slab free list: on one CPU, delete and re-insert meet the
  // same list, so old memory (and with it old ids) comes back even when the machine is busy.
  let affinity: string | undefined;
  beforeAll(() => {
    try {
      affinity = execFileSync('taskset', ['-p', '-c', String(process.pid)], { encoding: 'utf8' }).split(':').pop()?.trim();
      execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    } catch {
      affinity = undefined; // no taskset: the retries below still usually find reused ids
    }
  });
  afterAll(() => {
    if (affinity) execFileSync('taskset', ['-a', '-p', '-c', affinity, String(process.pid)], { stdio: 'ignore' });
  });

  for (const zone of [0, 7]) {
    for (let run = 1; run <= 3; run++) {
      it(`plan WAN1, re-create every flow on WAN2 (zone ${zone}), execute: none of them dies (run ${run})`, async (ctx) => {
        native.ctFlushAll(fd());
        insertEntries(fd(), flows(WAN1, zone));
        const table = await openTable({ conntrack: { netns: ns } });
        try {
          const plan = await table.plan(SELECT);
          expect(plan.counts.selected).toBe(N);
          const snap = table.lastSnapshot!;
          const planned = new Set([...plan.indices].map((i) => decodeCtRecord(snap.bytes, i).id));
          // The flows die and come back through WAN2: same original tuples, new mark, new reply tuple.
          // Which ones land in their old memory depends on the allocator; retry until some do.
          let reused = 0;
          for (let attempt = 0; attempt < 8 && reused === 0; attempt++) {
            endInReverse(fd(), attempt === 0 ? flows(WAN1, zone) : flows(WAN2, zone));
            insertEntries(fd(), flows(WAN2, zone));
            reused = dumpAll(fd()).filter((e) => planned.has(e.id)).length;
          }
          console.log(`conntrack-stale-plan: zone ${zone} run ${run}: ${reused} of ${N} re-created entries got a planned id back`);
          // The premise: the ids alone cannot tell these entries from the planned ones. Other tests'
          // conntrack entries share the slab (any namespace), so on a busy machine no old memory may
          // come back: then this run proves nothing and says so (the in-place test below always does).
          if (reused === 0) ctx.skip('no re-created entry got its old CTA_ID back (the machine is busy); see the in-place test');
          const r = await table.execute(plan);
          expect(r).toMatchObject({ killed: 0, alreadyGone: N, failed: 0 });
        } finally {
          await table.close();
        }
        const left = dumpAll(fd());
        expect(left).toHaveLength(N);
        expect(left.every((e) => (e.mark & 0xff00) === WAN2.mark && e.replyDst === WAN2.addr)).toBe(true);
      });
    }
  }

  it('an entry that kept its CTA_ID but no longer matches the selection is not killed (deterministic)', async () => {
    // The kernel's entries carry WAN2's mark; the snapshot says WAN1 (as when a plan was made before
    // the flow was re-marked or re-created in its old memory). Same tuple, same zone, same id: only
    // the re-check of the selection against the kernel's entry can refuse the delete.
    native.ctFlushAll(fd());
    insertEntries(fd(), flows(WAN2));
    const table = await openTable({ conntrack: { netns: ns } });
    try {
      const snap = await table.snapshot();
      expect(snap.count).toBe(N);
      const dv = new DataView(snap.bytes.buffer, snap.bytes.byteOffset, snap.bytes.byteLength);
      for (let i = 0; i < N; i++) dv.setUint32(i * CT_STRIDE + CT.mark, WAN1.mark | 0x5, endianness() === 'LE');
      const indices = Int32Array.from({ length: N }, (_, i) => i);
      const out = new Int32Array(N);
      table.backend.kill(snap, indices, out, SELECT);
      expect([...out].every((x) => x === 1)).toBe(true); // already gone: not the entry the plan saw
    } finally {
      await table.close();
    }
    const left = dumpAll(fd());
    expect(left).toHaveLength(N);
    expect(left.every((e) => (e.mark & 0xff00) === WAN2.mark)).toBe(true);
  });

  it('a plan whose entries are unchanged still kills every one of them', async () => {
    native.ctFlushAll(fd());
    insertEntries(fd(), [...flows(WAN1), ...flows(WAN2).map((e) => ({ ...e, srcPort: e.srcPort + 1000, replyDstPort: e.replyDstPort! + 1000 }))]);
    const table = await openTable({ conntrack: { netns: ns } });
    try {
      const plan = await table.plan(SELECT);
      const r = await table.execute(plan);
      expect(r).toMatchObject({ killed: N, alreadyGone: 0, failed: 0 });
    } finally {
      await table.close();
    }
    expect(dumpAll(fd()).every((e) => (e.mark & 0xff00) === WAN2.mark)).toBe(true);
  });

  /** Plans WAN1's flows, ends them, re-creates `back` instead, and hands over the stale plan. */
  async function withStalePlan(back: EntrySpec[], then: (table: StateTable, plan: Plan) => Promise<void>): Promise<void> {
    native.ctFlushAll(fd());
    insertEntries(fd(), flows(WAN1));
    const table = await openTable({ conntrack: { netns: ns } });
    try {
      const plan = await table.plan(SELECT);
      endInReverse(fd(), flows(WAN1));
      insertEntries(fd(), back);
      await then(table, plan);
    } finally {
      await table.close();
    }
  }

  it('re-created entries that still match the selection may die; entries re-created elsewhere never do', async () => {
    // Half come back on WAN1 (still selected), half on WAN2.
    const back = flows(WAN1).map((e, i) => (i % 2 ? { ...e, mark: WAN2.mark, replyDst: WAN2.addr } : e));
    await withStalePlan(back, async (table, plan) => {
      const r = await table.execute(plan);
      expect(r.killed + r.alreadyGone).toBe(N);
      expect(r.failed).toBe(0);
    });
    const left = new Set(dumpAll(fd()).map(tupleKey));
    for (const e of back.filter((_, i) => i % 2)) expect(left.has(tupleKey({ zone: 0, ...e }))).toBe(true);
  });

  it('the backend alone (no selections) re-checks the mark and reply tuple it read', async () => {
    await withStalePlan(flows(WAN2), async (table, plan) => {
      const out = new Int32Array(plan.indices.length);
      table.backend.kill(table.lastSnapshot!, plan.indices, out);
      expect([...out].every((x) => x === 1)).toBe(true);
    });
    expect(dumpAll(fd())).toHaveLength(N);
  });
});
