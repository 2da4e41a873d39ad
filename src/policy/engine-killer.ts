/**
 * The one place the policy meets the engine: a StateKiller that opens the table fresh for each kill
 * (the table changes between events), plans with pairing and executes.
 */
import { badInput } from '../errors.js';
import type { OpenOptions, StateTable } from '../engine/table.js';
import type { Plan, PlanOptions } from '../engine/types.js';
import type { AuditSink } from './audit.js';
import { reportCounts, type StateKiller } from './execute.js';

export interface EngineKillerOptions {
  dryRun?: boolean;
  plan?: PlanOptions;
  /** Sees each plan before it runs (tests list the exact states). */
  onPlan?: (plan: Plan, table: StateTable) => void | Promise<void>;
  /** Per-state results (`--audit FILE`). */
  audit?: AuditSink;
  /**
   * Keep the table open between kills (a daemon): each kill still reads the table afresh, into the
   * previous read's buffer (pages already faulted in). close() ends it.
   */
  keepOpen?: boolean;
}

export type EngineKiller = StateKiller & { close(): Promise<void> };

export function engineKiller(target: OpenOptions, o: EngineKillerOptions = {}): EngineKiller {
  let kept: Promise<StateTable> | undefined;
  const open = async () => {
    // Imported on first kill, so deciding (and the policy's tests) never loads native code.
    const { openTable } = await import('../engine/table.js');
    return openTable(target);
  };
  const keep = () => {
    if (!kept) {
      kept = open();
      kept.catch(() => { kept = undefined; }); // a failed open is retried at the next kill
    }
    return kept;
  };
  const killer: StateKiller = async (selections, _why, context) => {
    const table = o.keepOpen ? await keep() : await open();
    try {
      const plan = await table.plan(selections, { pair: true, killAmbiguous: false, ...o.plan });
      await o.onPlan?.(plan, table);
      const r = await table.execute(plan, { dryRun: o.dryRun ?? false });
      if (o.audit) o.audit.record(context, (await import('../engine/plan.js')).plannedStates(plan), plan.indices.length, r.results, r.dryRun);
      // Counts only: the per-state result array would make each log line as big as the table.
      return reportCounts(r);
    } finally {
      if (!o.keepOpen) await table.close();
    }
  };
  return Object.assign(killer, {
    async close() {
      const t = kept;
      kept = undefined;
      await (await t?.catch(() => undefined))?.close();
    },
  });
}

/** --sim FILE / --device PATH / --backend conntrack, as the CLI commands take them. */
export function tableTarget(opts: { sim?: string; device?: string; backend?: string }): OpenOptions {
  if (opts.backend !== undefined && opts.backend !== 'pf' && opts.backend !== 'conntrack') throw badInput(`--backend: expected pf or conntrack, got '${opts.backend}'`);
  // One source of states: a second one is refused, never silently dropped (a --backend conntrack
  // next to --sim ran a pf kill on the table file).
  if (opts.sim !== undefined && opts.backend === 'conntrack') throw badInput('--sim is a pf table; --backend conntrack reads the running kernel');
  if (opts.sim !== undefined && opts.device !== undefined) throw badInput('--sim and --device exclude each other');
  if (opts.backend === 'conntrack' && opts.device !== undefined) throw badInput("--device is pf's; --backend conntrack reads the running kernel");
  if (opts.sim) return { sim: { file: opts.sim } };
  if (opts.backend === 'conntrack') return { conntrack: true };
  return { device: opts.device ?? '/dev/pf' };
}
