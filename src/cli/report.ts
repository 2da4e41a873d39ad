/** Printing a kill report: the README documents both forms. */
import { plannedStates, type PlannedState } from '../engine/plan.js';
import type { ExecuteResult } from '../engine/execute.js';
import type { Plan, Report } from '../engine/types.js';

/** The `--json` object of `kill`: exactly these keys, in this order. */
export function killJson(r: Report, states: PlannedState[]): string {
  const phasesMs = Object.fromEntries(Object.entries(r.phasesMs).map(([k, v]) => [k, Math.round(v * 100) / 100]));
  return JSON.stringify({
    scanned: r.scanned, selected: r.selected, paired: r.paired, ambiguous: r.ambiguous, killed: r.killed,
    alreadyGone: r.alreadyGone, failed: r.failed, dryRun: r.dryRun, phasesMs, states,
  });
}

export function reportJson(plan: Plan, r: ExecuteResult): string {
  return killJson(r, [...plannedStates(plan)]);
}

export function reportText(r: ExecuteResult, target: string): string {
  const ms = (k: string) => (r.phasesMs[k] ?? 0).toFixed(1);
  const lines = [
    `target:      ${target}`,
    `scanned:     ${r.scanned}`,
    `selected:    ${r.selected}`,
    `paired:      ${r.paired}`,
    `ambiguous:   ${r.ambiguous}${r.ambiguous ? ' (partner not unique; not killed unless --kill-ambiguous)' : ''}`,
    r.dryRun ? `would kill:  ${r.selected + r.paired} (dry run: nothing killed)` : `killed:      ${r.killed}`,
    `alreadyGone: ${r.alreadyGone}`,
    `failed:      ${r.failed}`,
    `phases (ms): read ${ms('read')}, select ${ms('select')}, pair ${ms('pair')}, plan ${ms('plan')}, kill ${ms('kill')}`,
  ];
  return lines.join('\n');
}
