/**
 * plan -> kill -> report: pf's own gateway kill for the part of a plan it removes exactly
 * (kill-fast.ts), the rest by (id, creatorid) in native batches; vanished states count as already
 * gone. An abort stops between batches and rejects with ABORT_ERR carrying the partial report.
 */
import { constants } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { abortError } from '../errors.js';
import { killGatewayPart, type KillPathReport } from './kill-fast.js';
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
  /** How the plan was killed: pf's own gateway kill for part of it, or every state by id (absent on a dry run). */
  killPath?: KillPathReport;
  /**
   * Per planned state, in plan.indices order: 0 killed, 1 already gone, 2 not attempted (aborted
   * before its batch, or a dry run), <0 -errno. After a confirming by-id pass (killPath.countMatches
   * false) a state pf's gateway kill removed reads 1: it was gone when confirmed; the counts credit
   * the filter kill with what the kernel counted. Not enumerable, so JSON.stringify, log lines and
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
  let killPath: KillPathReport | undefined;
  // When a confirming by-id pass ran: the kernel's count, and the plan positions outside the filter part.
  let confirm: { counted: number; rest: Int32Array } | undefined;
  if (!opts.dryRun) {
    if (opts.signal?.aborted) aborted = true;
    else {
      // pf's own gateway kill takes the part of the plan it removes exactly (kill-fast.ts).
      const fast = killGatewayPart(backend, snap, plan, opts, results);
      killPath = fast.report;
      let done = 0;
      if (fast.report.path === 'kernel-filter') {
        if (!fast.report.countMatches) {
          // The kernel's count disagrees with the plan (states came or went since the read, or a
          // kernel matched differently): confirm the filter part by id too. A state the filter killed
          // answers "already gone"; one it missed dies now. No planned state is left to chance. The
          // confirmation runs to its end whatever the signal says: stopped halfway, the states it had
          // not reached would be neither known dead nor known alive, and the partial report would
          // no longer match the table. The abort applies to the by-id rest that follows.
          confirm = { counted: fast.report.counted, rest: fast.rest ?? new Int32Array(0) };
          const part = complement(confirm.rest, total);
          await killByIds(backend, snap, plan, part, results, { ...opts, signal: undefined }, 0);
        } else opts.onProgress?.({ done: fast.report.planned, total });
        done = fast.report.planned;
      }
      aborted = !(await killByIds(backend, snap, plan, fast.rest, results, opts, done));
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
  if (confirm) {
    // Filter-part states the confirming pass found gone were killed by the filter kill, up to what
    // the kernel counted (the rest vanished on their own).
    let gone = 0;
    for (let i = 0, k = 0; i < total; i++) {
      if (k < confirm.rest.length && confirm.rest[k] === i) k++;
      else if (results[i] === ALREADY_GONE) gone++;
    }
    const credit = Math.min(confirm.counted, gone);
    killed += credit;
    alreadyGone -= credit;
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
    ...(killPath ? { killPath } : {}),
  } as ExecuteResult;
  Object.defineProperty(report, 'results', { value: results, enumerable: false });
  if (aborted) throw abortError(opts.signal!, 'kill', report);
  return report;
}

/** The plan positions 0..total-1 that are not in `positions` (ascending). */
function complement(positions: Int32Array, total: number): Int32Array {
  const out = new Int32Array(total - positions.length);
  for (let i = 0, k = 0, o = 0; i < total; i++) {
    if (k < positions.length && positions[k] === i) k++;
    else out[o++] = i;
  }
  return out;
}

/**
 * Kills plan entries by (id, creatorid) in batches: `positions` (plan positions, ascending), or all
 * when undefined. Uses the ids gathered into the plan where the backend takes ids, so the kill never
 * reads the snapshot (whose buffer a later read may reuse); else the backend reads them from it
 * (conntrack also re-checks each entry against the plan's selections). Returns false when an abort
 * stopped it between batches (the rest stay NOT_ATTEMPTED).
 */
async function killByIds(backend: Backend, snap: Snapshot, plan: Plan, positions: Int32Array | undefined,
  results: Int32Array, opts: ExecuteOptions, doneBefore: number): Promise<boolean> {
  const total = plan.indices.length;
  const m = positions ? positions.length : total;
  const batch = Math.max(1, opts.batch ?? 16384);
  const byIds = backend.killIds && plan.ids && plan.creatorids ? backend.killIds.bind(backend) : undefined;
  for (let from = 0; from < m; from += batch) {
    if (opts.signal?.aborted) return false;
    const to = Math.min(m, from + batch);
    if (!positions) {
      if (byIds) byIds(plan.ids!.subarray(from, to), plan.creatorids!.subarray(from, to), results.subarray(from, to));
      else backend.kill(snap, plan.indices.subarray(from, to), results.subarray(from, to), plan.selections);
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
        backend.kill(snap, idx, out, plan.selections);
      }
      for (let i = 0; i < k; i++) results[positions[from + i]] = out[i];
    }
    opts.onProgress?.({ done: doneBefore + to, total });
    if (to < m) await betweenBatches();
  }
  return true;
}
