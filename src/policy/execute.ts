/**
 * Carrying out decisions: log each one, wait once for the ruleset reload, kill through the injected
 * StateKiller, optionally kill again after a second pass (catches clients that reconnected in the
 * gap), and report what was killed.
 */
import type { Report, Selection } from '../engine/types.js';
import type { Decision } from './decide.js';
import type { ReloadWaiter } from './reload.js';

/**
 * Kills what the selections match; the policy never touches a kernel itself. `decision` is the one
 * the selections came from (a conntrack killer maps a failover to the gateway's conntrack selector).
 */
export type StateKiller = (selections: Selection[], why: string, decision?: Decision) => Promise<Report>;

export type PolicyLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface Outcome {
  decision: Decision;
  /** One per pass. */
  reports: Report[];
  error?: string;
}

export interface RunOptions {
  killer: StateKiller;
  log: PolicyLog;
  waitForReload?: ReloadWaiter;
  secondPassMs?: number;
  sleep?: (ms: number) => Promise<void>;
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
  if (o.waitForReload) o.log('info', await o.waitForReload());
  const pass = async (n: number) => {
    for (const x of kills) {
      try {
        const r = await o.killer(x.decision.selections, x.decision.reason, x.decision);
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
  if (o.secondPassMs && o.secondPassMs > 0) {
    await (o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))))(o.secondPassMs);
    await pass(2);
  }
  return outcomes;
}

export function anyKillFailed(outcomes: Outcome[]): boolean {
  return outcomes.some((x) => x.error !== undefined || x.reports.some((r) => r.failed > 0));
}
