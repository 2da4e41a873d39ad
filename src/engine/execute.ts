/** plan -> kill -> report: batched native kills; vanished states count as already gone. */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { killGatewayPart, type KillPathReport } from './kill-fast.js';
import type { Backend, ExecuteOptions, Plan, Report, Snapshot } from './types.js';

export interface ExecuteResult extends Report {
  /**
   * Per planned state: 0 killed, 1 already gone, <0 -errno; 3 (FILTER_UNCONFIRMED) = covered by
   * pf's gateway kill whose count disagreed with the plan (killPath.countMatches false), so not
   * confirmed one by one.
   */
  results: Int32Array;
  /** How the plan was killed: pf's own gateway kill for part of it, or every state by id (absent on a dry run). */
  killPath?: KillPathReport;
}

export async function executePlan(backend: Backend, snap: Snapshot, plan: Plan, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
  const total = plan.indices.length;
  const results = new Int32Array(total);
  const phasesMs = { ...plan.phasesMs };
  const t = performance.now();
  let killed = 0, alreadyGone = 0, failed = 0;
  let killPath: KillPathReport | undefined;
  if (!opts.dryRun) {
    opts.signal?.throwIfAborted();
    // Hook: pf's own gateway kill takes the part of the plan it removes exactly (kill-fast.ts).
    const fast = killGatewayPart(backend, plan, opts, results);
    killPath = fast.report;
    if (fast.report.path === 'kernel-filter') {
      killed += Math.min(fast.report.counted, fast.report.planned);
      alreadyGone += Math.max(0, fast.report.planned - fast.report.counted);
      opts.onProgress?.({ done: fast.report.planned, total });
    }
    const c = await killByIds(backend, snap, plan, fast.rest, results, opts, fast.report.planned);
    killed += c.killed;
    alreadyGone += c.alreadyGone;
    failed += c.failed;
  }
  phasesMs.kill = performance.now() - t;
  return {
    scanned: plan.scanned,
    selected: plan.counts.selected,
    paired: plan.counts.paired,
    ambiguous: plan.counts.ambiguous,
    killed,
    alreadyGone,
    failed,
    dryRun: !!opts.dryRun,
    phasesMs,
    results,
    ...(killPath ? { killPath } : {}),
  };
}

/**
 * Kills plan entries by (id, creatorid) in batches: `positions` (plan positions), or all when
 * undefined. Uses the ids gathered into the plan where the backend takes ids, so the kill never
 * reads the snapshot (whose buffer a later read may reuse); else the backend reads them from it.
 */
async function killByIds(backend: Backend, snap: Snapshot, plan: Plan, positions: Int32Array | undefined,
  results: Int32Array, opts: ExecuteOptions, doneBefore: number) {
  const total = plan.indices.length;
  const m = positions ? positions.length : total;
  const batch = Math.max(1, opts.batch ?? 16384);
  const byIds = backend.killIds && plan.ids && plan.creatorids ? backend.killIds.bind(backend) : undefined;
  for (let from = 0; from < m; from += batch) {
    opts.signal?.throwIfAborted();
    const to = Math.min(m, from + batch);
    if (!positions) {
      if (byIds) byIds(plan.ids!.subarray(from, to), plan.creatorids!.subarray(from, to), results.subarray(from, to));
      else backend.kill(snap, plan.indices.subarray(from, to), results.subarray(from, to));
    } else {
      const k = to - from;
      const out = new Int32Array(k);
      if (byIds) {
        const ids = new BigUint64Array(k), creators = new Uint32Array(k);
        for (let i = 0; i < k; i++) ids[i] = plan.ids![positions[from + i]], creators[i] = plan.creatorids![positions[from + i]];
        byIds(ids, creators, out);
      } else {
        const idx = new Int32Array(k);
        for (let i = 0; i < k; i++) idx[i] = plan.indices[positions[from + i]];
        backend.kill(snap, idx, out);
      }
      for (let i = 0; i < k; i++) results[positions[from + i]] = out[i];
    }
    opts.onProgress?.({ done: doneBefore + to, total });
    if (to < m) await yieldToLoop(); // let aborts and progress listeners run between batches
  }
  let killed = 0, alreadyGone = 0, failed = 0;
  for (let i = 0; i < m; i++) {
    const r = results[positions ? positions[i] : i];
    if (r === 0) killed++;
    else if (r === 1) alreadyGone++;
    else failed++;
  }
  return { killed, alreadyGone, failed };
}
