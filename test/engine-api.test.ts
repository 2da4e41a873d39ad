/** The library front door: progress and phase events, AbortSignal, plans as plain data. */
import { describe, expect, it, vi } from 'vitest';
import { decodeState, isStatekillError, KILLED, NOT_ATTEMPTED, openTable, plannedStates, type StatekillError } from '../src/index.js';

const GW1 = { af: 'inet' as const, addr: '198.51.100.1', prefix: 32 };

describe('openTable: plan, execute, events, abort', () => {
  it('emits each phase once and progress per batch, ending at the total', async () => {
    const t = await openTable({ sim: { generate: { states: 20000, seed: 5, profile: 'bench' } } });
    const phases: string[] = [];
    const progress: Array<{ done: number; total: number }> = [];
    t.on('phase', (p) => phases.push(p.phase));
    t.on('progress', (p) => progress.push(p));
    const plan = await t.plan([{ gateways: [GW1] }]);
    const total = plan.indices.length;
    expect(total).toBeGreaterThan(5000);
    // By id (pf's own gateway kill would take the whole plan in one request: see below).
    const r = await t.execute(plan, { batch: 1000, pfFilterKill: false });
    expect(phases).toEqual(['read', 'select', 'pair', 'plan', 'kill']);
    expect(progress.length).toBe(Math.ceil(total / 1000));
    expect(progress.at(-1)).toEqual({ done: total, total });
    expect(r.killed).toBe(total);
    await t.close();
  });

  it('an abort between batches stops the kill: ABORT_ERR carries the partial report, which matches the table left', async () => {
    const t = await openTable({ sim: { generate: { states: 20000, seed: 5, profile: 'bench' } } });
    const plan = await t.plan([{ gateways: [GW1] }]);
    const ac = new AbortController();
    let batches = 0;
    const run = t.execute(plan, { batch: 1000, pfFilterKill: false, signal: ac.signal, onProgress: () => { if (++batches === 2) ac.abort(new Error('operator')); } });
    const e = await run.then(() => undefined, (x: unknown) => x);
    expect(isStatekillError(e)).toBe(true);
    const err = e as StatekillError;
    expect(err).toMatchObject({ code: 'ABORT_ERR', name: 'AbortError' });
    expect(err.message).toMatch(/^kill aborted \(operator\): 2000 killed, \d+ of the plan not attempted$/);
    const report = err.report!;
    expect(report).toMatchObject({ killed: 2000, alreadyGone: 0, failed: 0, notAttempted: plan.indices.length - 2000 });
    // Exactly the first two batches were killed, and they are what is missing from the table.
    expect(Array.from(report.results.subarray(0, 2000)).every((r) => r === KILLED)).toBe(true);
    expect(Array.from(report.results.subarray(2000)).every((r) => r === NOT_ATTEMPTED)).toBe(true);
    const after = await t.snapshot();
    expect(after.count).toBe(20000 - report.killed);
    const left = new Set(Array.from({ length: after.count }, (_, i) => decodeState(after.bytes, i, after.layout).id));
    const killedIds = [...plannedStates(plan)].slice(0, 2000).map((s) => s.id);
    const aliveIds = [...plannedStates(plan)].slice(2000, plan.indices.length).map((s) => s.id);
    expect(killedIds.filter((id) => left.has(id))).toEqual([]);
    expect(aliveIds.every((id) => left.has(id))).toBe(true);
    await t.close();
  });

  it("pf's gateway kill takes the gateway part in one request: one progress event for it, the rest per batch", async () => {
    const t = await openTable({ sim: { generate: { states: 20000, seed: 5 } } }); // realistic: port-forwards too
    const progress: Array<{ done: number; total: number }> = [];
    const plan = await t.plan([{ gateways: [GW1] }]);
    const total = plan.indices.length;
    const r = await t.execute(plan, { batch: 100, onProgress: (p) => progress.push(p) });
    expect(r.killPath).toMatchObject({ path: 'kernel-filter', filters: 1, countMatches: true, alsoKillsNewStates: true });
    const rest = total - r.killPath!.planned;
    expect(rest).toBeGreaterThan(0); // port-forward partners pf's rule cannot see go by id
    expect(progress[0]).toEqual({ done: r.killPath!.planned, total });
    expect(progress.length).toBe(1 + Math.ceil(rest / 100));
    expect(progress.at(-1)).toEqual({ done: total, total });
    expect(r.killed).toBe(total);
    await t.close();
  });

  it('an already-aborted signal is refused before the table is read, by plan, kill and execute', async () => {
    const t = await openTable({ sim: { generate: { states: 50000, seed: 2 } } });
    const reads = vi.spyOn(t.backend, 'read');
    await expect(t.plan([{ gateways: [GW1] }], { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    await expect(t.kill([{ gateways: [GW1] }], { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect(reads).not.toHaveBeenCalled();
    const plan = await t.plan([{ gateways: [GW1] }]);
    const e = await t.execute(plan, { signal: AbortSignal.abort() }).catch((x: StatekillError) => x);
    expect(e).toMatchObject({ code: 'ABORT_ERR', report: { killed: 0, notAttempted: plan.indices.length } });
    expect((await t.snapshot()).count).toBe(50000);
    await t.close();
  });

  it('an abort while selecting (workers) is ABORT_ERR too, with nothing killed', async () => {
    const t = await openTable({ sim: { generate: { states: 200000, seed: 2 } } });
    const ac = new AbortController();
    t.once('phase', () => ac.abort()); // right after the read
    await expect(t.plan([{ gateways: [GW1] }], { signal: ac.signal, workers: 2 })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect((await t.snapshot()).count).toBe(200000);
    await t.close();
  });

  it('a plan is plain data: it survives structuredClone and can be shown before it runs', async () => {
    const t = await openTable({ sim: { generate: { states: 5000, seed: 3 } } });
    const plan = await t.plan([{ name: 'WAN1', gateways: [GW1] }]);
    const copy = structuredClone(plan);
    expect(copy.counts).toEqual(plan.counts);
    expect(Array.from(copy.indices)).toEqual(Array.from(plan.indices));
    expect(copy.selections).toEqual([{ name: 'WAN1', gateways: [GW1] }]);
    // ...but only the table that made it can execute it (it indexes that table's snapshot).
    await expect(t.execute(copy)).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
    await t.close();
  });

  it('a dry run kills nothing and says so', async () => {
    const t = await openTable({ sim: { generate: { states: 5000, seed: 3 } } });
    const { plan, report } = await t.kill([{ gateways: [GW1] }], { dryRun: true });
    expect(report).toMatchObject({ dryRun: true, killed: 0, alreadyGone: 0, failed: 0 });
    expect(plan.indices.length).toBeGreaterThan(0);
    expect((await t.snapshot()).count).toBe(5000);
    await t.close();
  });
});
