/**
 * The one place the policy meets the engine: a StateKiller that opens the table fresh for each kill
 * (the table changes between events), plans with pairing and executes.
 */
import type { Plan, PlanOptions, Report, Selection } from '../engine/types.js';
import type { StateKiller } from './execute.js';

export type TableTarget = { sim: { file: string } } | { device: string } | { backend: 'conntrack' };

interface Table {
  plan(selections: Selection[], options?: PlanOptions): Promise<Plan>;
  execute(plan: Plan, options?: { dryRun?: boolean }): Promise<Report>;
  close(): Promise<void> | void;
}
type OpenTable = (target: TableTarget) => Promise<Table>;

// Loaded lazily so the policy (and its tests) never load native code unless a kill happens.
async function loadOpenTable(): Promise<OpenTable> {
  const spec = '../index.js';
  const mod = (await import(spec)) as { openTable?: OpenTable };
  if (typeof mod.openTable !== 'function') throw new Error('the engine (openTable in src/index.ts) is not available in this build');
  return mod.openTable;
}

export interface EngineKillerOptions {
  dryRun?: boolean;
  plan?: PlanOptions;
  /** Sees each plan before it runs (tests list the exact states). */
  onPlan?: (plan: Plan, table: Table) => void | Promise<void>;
}

export function engineKiller(target: TableTarget, o: EngineKillerOptions = {}): StateKiller {
  return async (selections) => {
    const openTable = await loadOpenTable();
    const table = await openTable(target);
    try {
      const plan = await table.plan(selections, { pair: true, killAmbiguous: false, ...o.plan });
      await o.onPlan?.(plan, table);
      return await table.execute(plan, { dryRun: o.dryRun ?? false });
    } finally {
      await table.close();
    }
  };
}

/** --sim FILE / --device PATH / --backend conntrack, as the CLI commands take them. */
export function tableTarget(opts: { sim?: string; device?: string; backend?: string }): TableTarget {
  if (opts.sim) return { sim: { file: opts.sim } };
  if (opts.backend === 'conntrack') return { backend: 'conntrack' };
  return { device: opts.device ?? '/dev/pf' };
}
