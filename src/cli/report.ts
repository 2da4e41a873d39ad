/** Printing a kill report: the README documents both forms. */
import { NOT_ATTEMPTED, type ExecuteResult } from '../engine/execute.js';
import { plannedStates, type PlannedState } from '../engine/plan.js';
import type { KillPathReport } from '../engine/kill-fast.js';
import type { Plan, Report } from '../engine/types.js';

/** What stopped a kill part way (a signal's name), and how much of the plan it left. */
export interface Interrupted {
  interrupted: string;
  notAttempted: number;
}

/**
 * The `--json` object of `kill`: exactly these keys, in this order (`interrupted` and `notAttempted`
 * only when a signal stopped the kill part way).
 */
export function killJson(r: Report & { killPath?: KillPathReport }, states: PlannedState[], stop?: Interrupted): string {
  const phasesMs = Object.fromEntries(Object.entries(r.phasesMs).map(([k, v]) => [k, Math.round(v * 100) / 100]));
  return JSON.stringify({
    scanned: r.scanned, selected: r.selected, paired: r.paired, ambiguous: r.ambiguous, killed: r.killed,
    alreadyGone: r.alreadyGone, failed: r.failed, dryRun: r.dryRun, ...stop, phasesMs, killPath: r.killPath ?? null, states,
  });
}

/** One line on how the plan was killed (pf's own gateway kill for part of it, or by id). */
export function killPathText(p: KillPathReport): string {
  if (p.path === 'by-id') return `by id${p.reason ? ` (pf's gateway kill not used: ${p.reason})` : ''}`;
  return `pf's gateway kill for ${p.planned} planned state${p.planned === 1 ? '' : 's'} (${p.filters} request${p.filters === 1 ? '' : 's'}, kernel counted ` +
    `${p.counted}${p.countMatches ? '' : ': differs from the plan, states came or went since the read'}), the rest by id; ` +
    'it also kills states created on the gateway after the read';
}

/** The planned states a report covers: all of them, or (interrupted) those whose kill was attempted. */
export function reportJson(plan: Plan, r: ExecuteResult, stop?: Interrupted): string {
  let states = [...plannedStates(plan)];
  if (r.notAttempted) states = states.filter((_, i) => i >= r.results.length || r.results[i] !== NOT_ATTEMPTED);
  return killJson(r, states, stop);
}

export function reportText(r: ExecuteResult, target: string, stop?: Interrupted): string {
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
    ...(stop ? [`interrupted: ${stop.interrupted}: ${stop.notAttempted} planned states not attempted (still in the table)`] : []),
    ...(r.killPath ? [`kill path:   ${killPathText(r.killPath)}`] : []),
    `phases (ms): read ${ms('read')}, select ${ms('select')}, pair ${ms('pair')}, plan ${ms('plan')}, kill ${ms('kill')}`,
  ];
  for (const f of r.failures) lines.push(`  failed: id ${f.id} creatorid ${f.creatorid}: ${f.code}`);
  if (r.failed > r.failures.length) lines.push(`  (${r.failed - r.failures.length} more failures not listed)`);
  return lines.join('\n');
}
