/** Printing a kill report: the README documents both forms. */
import { plannedStates, type PlannedState } from '../engine/plan.js';
import type { ExecuteResult } from '../engine/execute.js';
import type { KillPathReport } from '../engine/kill-fast.js';
import type { Plan, Report } from '../engine/types.js';

/** The `--json` object of `kill`: exactly these keys, in this order. */
export function killJson(r: Report & { killPath?: KillPathReport }, states: PlannedState[]): string {
  const phasesMs = Object.fromEntries(Object.entries(r.phasesMs).map(([k, v]) => [k, Math.round(v * 100) / 100]));
  return JSON.stringify({
    scanned: r.scanned, selected: r.selected, paired: r.paired, ambiguous: r.ambiguous, killed: r.killed,
    alreadyGone: r.alreadyGone, failed: r.failed, dryRun: r.dryRun, phasesMs, killPath: r.killPath ?? null, states,
  });
}

/** One line on how the plan was killed (pf's own gateway kill for part of it, or by id). */
export function killPathText(p: KillPathReport): string {
  if (p.path === 'by-id') return `by id${p.reason ? ` (pf's gateway kill not used: ${p.reason})` : ''}`;
  return `pf's gateway kill for ${p.planned} planned state${p.planned === 1 ? '' : 's'} (${p.filters} request${p.filters === 1 ? '' : 's'}, kernel counted ` +
    `${p.counted}${p.countMatches ? '' : ': differs from the plan, states came or went since the read'}), the rest by id; ` +
    'it also kills states created on the gateway after the read';
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
    ...(r.killPath ? [`kill path:   ${killPathText(r.killPath)}`] : []),
    `phases (ms): read ${ms('read')}, select ${ms('select')}, pair ${ms('pair')}, plan ${ms('plan')}, kill ${ms('kill')}`,
  ];
  return lines.join('\n');
}
