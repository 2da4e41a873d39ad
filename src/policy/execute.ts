/**
 * Carrying out decisions: log each one, wait once for the ruleset reload, kill through the injected
 * StateKiller, optionally kill again after a second pass (catches clients that reconnected in the
 * gap), and report what was killed.
 */
import type { Report, Selection } from '../engine/types.js';
import type { Decision } from './decide.js';
import { pause } from './pause.js';
import type { ReloadWaiter } from './reload.js';

/** Which decision a kill carries out (for audit lines). */
export interface KillContext {
  gateway: string;
  kind: Decision['kind'];
}

/**
 * Kills what the selections match; the policy never touches a kernel itself. Resolves with counts
 * only (never per-state arrays: they end up in log lines); per-state results go to an audit file.
 */
export type StateKiller = (selections: Selection[], why: string, context?: KillContext) => Promise<Report>;

export type PolicyLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface Outcome {
  decision: Decision;
  /** One per pass. */
  reports: Report[];
  error?: string;
  /** Stopped (SIGTERM, abort) before this kill ran. */
  aborted?: boolean;
}

export interface RunOptions {
  killer: StateKiller;
  log: PolicyLog;
  waitForReload?: ReloadWaiter;
  secondPassMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Aborted (SIGTERM): no kill starts any more, including one waiting for the reload. */
  signal?: AbortSignal;
}

/** Counts of a report, whatever else the killer put in it (an engine result carries per-state arrays). */
export function reportCounts(r: Report): Report {
  const { scanned, selected, paired, ambiguous, killed, alreadyGone, failed, dryRun, phasesMs } = r;
  return { scanned, selected, paired, ambiguous, killed, alreadyGone, failed, dryRun, phasesMs };
}

export function describeReport(r: Report): string {
  return `${r.dryRun ? 'would kill' : 'killed'} ${r.dryRun ? r.selected + r.paired : r.killed} states (selected ${r.selected}, paired ${r.paired}, ambiguous ${r.ambiguous}, already gone ${r.alreadyGone}, failed ${r.failed})`;
}

export async function runDecisions(decisions: Decision[], o: RunOptions): Promise<Outcome[]> {
  const outcomes: Outcome[] = decisions.map((decision) => ({ decision, reports: [] }));
  for (const d of decisions)
    o.log('info', d.reason, { gateway: d.gateway, kind: d.kind, action: d.action, ...(d.group ? { group: d.group } : {}) });
  const kills = outcomes.filter((x) => x.decision.action === 'kill' && x.decision.selections.length);
  if (!kills.length) return outcomes;
  const stopped = (when: string) => {
    for (const x of kills) if (!x.reports.length && x.error === undefined) x.aborted = true;
    o.log('warn', `stopped ${when}: ${kills.filter((x) => x.aborted).map((x) => x.decision.gateway).join(', ') || 'nothing'} not killed`);
    return outcomes;
  };
  if (o.signal?.aborted) return stopped('before the kill');
  if (o.waitForReload) {
    try {
      o.log('info', await o.waitForReload(o.signal));
    } catch (e) {
      if (o.signal?.aborted) return stopped('while waiting for the ruleset reload');
      throw e;
    }
  }
  const pass = async (n: number) => {
    for (const x of kills) {
      if (o.signal?.aborted) return;
      try {
        const r = reportCounts(await o.killer(x.decision.selections, x.decision.reason, { gateway: x.decision.gateway, kind: x.decision.kind }));
        x.reports.push(r);
        o.log(r.failed ? 'error' : 'info', `${x.decision.gateway}: ${describeReport(r)}${n > 1 ? ' (second pass)' : ''}`, {
          gateway: x.decision.gateway,
          kind: x.decision.kind,
          pass: n,
          report: r,
        });
      } catch (e) {
        x.error = (e as Error).message;
        o.log('error', `${x.decision.gateway}: state kill failed: ${x.error}`, { gateway: x.decision.gateway, kind: x.decision.kind, pass: n });
      }
    }
  };
  await pass(1);
  if (o.signal?.aborted && kills.some((x) => !x.reports.length && x.error === undefined)) return stopped('before the kill');
  if (o.secondPassMs && o.secondPassMs > 0) {
    await pause(o.secondPassMs, o.signal, o.sleep);
    if (o.signal?.aborted) {
      o.log('warn', 'stopped before the second pass');
      return outcomes;
    }
    await pass(2);
  }
  return outcomes;
}

/** A kill that did not happen in full: it failed, some states failed, or it was stopped before it ran. */
export function killIncomplete(x: Outcome): boolean {
  return x.decision.action === 'kill' && (x.aborted === true || x.error !== undefined || x.reports.length === 0 || x.reports.some((r) => r.failed > 0));
}

export function anyKillFailed(outcomes: Outcome[]): boolean {
  return outcomes.some((x) => x.error !== undefined || x.aborted === true || x.reports.some((r) => r.failed > 0));
}
