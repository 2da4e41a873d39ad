/** plan -> kill -> report: batched native kills; vanished states count as already gone. */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Backend, ExecuteOptions, Plan, Report, Snapshot } from './types.js';

export interface ExecuteResult extends Report {
  /** Per planned state: 0 killed, 1 already gone, <0 -errno. */
  results: Int32Array;
}

export async function executePlan(backend: Backend, snap: Snapshot, plan: Plan, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
  const total = plan.indices.length;
  const results = new Int32Array(total);
  const phasesMs = { ...plan.phasesMs };
  const t = performance.now();
  let killed = 0, alreadyGone = 0, failed = 0;
  if (!opts.dryRun) {
    const batch = Math.max(1, opts.batch ?? 16384);
    for (let from = 0; from < total; from += batch) {
      opts.signal?.throwIfAborted();
      const to = Math.min(total, from + batch);
      backend.kill(snap, plan.indices.subarray(from, to), results.subarray(from, to), plan.selections);
      opts.onProgress?.({ done: to, total });
      if (to < total) await yieldToLoop(); // let aborts and progress listeners run between batches
    }
    for (let i = 0; i < total; i++) {
      const r = results[i];
      if (r === 0) killed++;
      else if (r === 1) alreadyGone++;
      else failed++;
    }
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
  };
}
