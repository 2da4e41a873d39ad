/**
 * plan -> kill -> report: batched native kills; vanished states count as already gone. An abort
 * stops between batches and rejects with ABORT_ERR carrying the partial report.
 */
import { constants } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { abortError } from '../errors.js';
import { idHex } from './plan.js';
import type { Backend, ExecuteOptions, Plan, Report, Snapshot } from './types.js';

/** Per-state results: 0 killed, 1 already gone, 2 not attempted, <0 -errno. */
export const KILLED = 0;
export const ALREADY_GONE = 1;
export const NOT_ATTEMPTED = 2;

/** At most this many failed kills are listed in a report (`failed` counts them all). */
export const FAILURES_LISTED = 100;

/** A planned state whose kill the kernel refused. */
export interface KillFailure {
  id: string;
  creatorid: string;
  errno: number;
  /** errno name, e.g. "EPERM" */
  code: string;
}

export interface ExecuteResult extends Report {
  /** Planned states not attempted because the run was aborted first (0 otherwise, and in a dry run). */
  notAttempted: number;
  /** The failed kills, the first FAILURES_LISTED in plan order. */
  failures: KillFailure[];
  /**
   * Per planned state, in plan.indices order: 0 killed, 1 already gone, 2 not attempted (aborted
   * before its batch, or a dry run), <0 -errno. Not enumerable, so JSON.stringify, log lines and
   * spreads leave it out and a report stays small at any table size; the per-state list is
   * plannedStates(plan) (`kill --json`'s `states`).
   */
  readonly results: Int32Array;
}

/**
 * Lets the event loop run a full turn: aborts from signals, sockets and timers land between batches.
 * Two immediates, because one scheduled from the poll phase resolves in that turn's check phase,
 * before the loop polls again (where a signal handler or a socket callback would run).
 */
async function betweenBatches(): Promise<void> {
  await yieldToLoop();
  await yieldToLoop();
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

function failuresOf(plan: Plan, results: Int32Array): KillFailure[] {
  const out: KillFailure[] = [];
  for (let i = 0; i < results.length && out.length < FAILURES_LISTED; i++) {
    const r = results[i];
    if (r >= 0) continue;
    out.push({
      id: plan.ids ? idHex(plan.ids[i]) : '',
      creatorid: plan.creatorids ? plan.creatorids[i].toString(16).padStart(8, '0') : '',
      errno: -r,
      code: ERRNO_NAMES.get(-r) ?? 'EUNKNOWN',
    });
  }
  return out;
}

export async function executePlan(backend: Backend, snap: Snapshot, plan: Plan, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
  const total = plan.indices.length;
  const results = new Int32Array(total).fill(NOT_ATTEMPTED);
  const phasesMs = { ...plan.phasesMs };
  const t = performance.now();
  let aborted = false;
  if (!opts.dryRun) {
    const batch = Math.max(1, opts.batch ?? 16384);
    for (let from = 0; from < total; from += batch) {
      if (opts.signal?.aborted) {
        aborted = true;
        break;
      }
      const to = Math.min(total, from + batch);
      backend.kill(snap, plan.indices.subarray(from, to), results.subarray(from, to), plan.selections);
      opts.onProgress?.({ done: to, total });
      if (to < total) await betweenBatches();
    }
  }
  let killed = 0, alreadyGone = 0, failed = 0, notAttempted = 0;
  for (let i = 0; i < total; i++) {
    const r = results[i];
    if (r === KILLED) killed++;
    else if (r === ALREADY_GONE) alreadyGone++;
    else if (r === NOT_ATTEMPTED) notAttempted++;
    else failed++;
  }
  phasesMs.kill = performance.now() - t;
  const report: ExecuteResult = {
    scanned: plan.scanned,
    selected: plan.counts.selected,
    paired: plan.counts.paired,
    ambiguous: plan.counts.ambiguous,
    killed,
    alreadyGone,
    failed,
    dryRun: !!opts.dryRun,
    phasesMs,
    notAttempted: opts.dryRun ? 0 : notAttempted,
    failures: failed ? failuresOf(plan, results) : [],
  } as ExecuteResult;
  Object.defineProperty(report, 'results', { value: results, enumerable: false });
  if (aborted) throw abortError(opts.signal!, 'kill', report);
  return report;
}
