/**
 * The read preflight every kill goes through (StateTable.snapshot, streamSelect): the records read
 * are compared with the kernel's own state counter, taken just before and just after the read. A
 * read implausibly short of it is refused with E_SHORT_READ, nothing killed, instead of being
 * reported as "0 selected, success": a dump that silently loses states (a kernel defect, a filter
 * misparsed, a truncation) would otherwise look like a table without the failed gateway's states.
 *
 * The counter (pf_status.states: DIOCGETSTATUSNV, DIOCGETSTATUS, netlink GET_STATUS) is
 * V_pf_status.states, which pf's purge thread refreshes from the state zone's allocation count
 * about ten times a second (sys/netpfil/pf/pf.c pf_purge_expired_states). So it lags the table by
 * up to ~100 ms, counts states unlinked but not yet freed, and the table itself changes while a
 * read walks it row by row (pf-abi.md section 6). The tolerance allows for that churn:
 *
 *   refuse when  read < min(before, after) - 2 - 10% of max(before, after)
 *
 * min() absorbs states that expired during the read (they lower `after`); the 10% covers churn the
 * two counts cannot see: a busy firewall turning over a few percent of its table per second while
 * a read of a million states takes 0.2-1 s. A read that fails this is re-judged once against a
 * counter taken 300 ms later (past the purge thread's next refresh), so a counter that had not yet
 * caught up with states that just went (a flush, a mass expiry) is not mistaken for a lossy dump;
 * that re-check, not a large fixed slack, is what absorbs the counter's lag, so a small table is
 * judged too (a dump losing half of 8 states is refused; a slack of 64 once let any table under
 * 64 states come back empty as "0 selected"). The 2 covers the few states a busy kernel holds
 * allocated but not (or no longer) linked at any instant.
 *
 * A kernel-filtered read (pf netlink GETSTATES with a filter, Snapshot.kernelFiltered) is smaller
 * than the table by design, so the counter cannot judge it. It is verified by an unfiltered count
 * instead (Backend.countStates: a second, streamed read that keeps nothing): that count is judged
 * against the counter as above, and the filtered read against the number of counted states the
 * same filter keeps, with the same tolerance. A read hint the backend did not apply (the ioctls
 * cannot filter) leaves an ordinary whole-table read, judged as such.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StatekillError } from '../errors.js';
import type { Backend, ReadFilterLike } from './types.js';

export const SHORT_READ_SLACK = 2;
export const SHORT_READ_FRACTION = 0.1;
export const STATUS_SETTLE_MS = 300;

export interface ReadCounts {
  before: number;
  after: number;
  read: number;
}

/** The fewest records a read may hold given the counter before and after it. */
export function minimumPlausibleRead(before: number, after: number): number {
  return Math.min(before, after) - SHORT_READ_SLACK - Math.ceil(SHORT_READ_FRACTION * Math.max(before, after));
}

export function looksShort(c: ReadCounts): boolean {
  return c.read < minimumPlausibleRead(c.before, c.after);
}

export function shortReadError(c: ReadCounts, source: string, target: string): StatekillError {
  return new StatekillError(`E_SHORT_READ: ${target}: the read returned ${c.read} states, but the kernel counts ${c.before} before and ` +
    `${c.after} after it (${source}); a read this short of the kernel's own count is not trusted (at least ` +
    `${Math.max(0, minimumPlausibleRead(c.before, c.after))} expected, allowing for churn): nothing was killed. ` +
    'Run `statekill doctor` on this box', 5, 'E_SHORT_READ');
}

type Status = NonNullable<Backend['status']>;

/**
 * Judges a read of `read` records taken between the counter readings `before` and `after`; a short
 * one is re-judged once against the counter STATUS_SETTLE_MS later, then refused.
 */
export async function judgeRead(status: Status, before: number, after: ReturnType<Status>, read: number, target: string): Promise<void> {
  const c: ReadCounts = { before, after: after.states, read };
  if (!looksShort(c)) return;
  await sleep(STATUS_SETTLE_MS);
  const settled = status().states;
  if (looksShort({ ...c, after: Math.min(c.after, settled) })) throw shortReadError(c, after.source, target);
}

/**
 * Verifies a kernel-filtered read of `read` records: an unfiltered count, judged against the
 * counter, must find no more states passing `filter` than the read returned (churn allowed for).
 */
export async function verifyFilteredRead(backend: Backend, filter: ReadFilterLike, read: number): Promise<void> {
  const target = backend.describe().target;
  const status = backend.status?.bind(backend);
  if (!backend.countStates || !status)
    throw new StatekillError(`E_SHORT_READ: ${target}: a kernel-filtered read cannot be verified here (no unfiltered count): nothing was killed`, 5, 'E_SHORT_READ');
  const before = status().states;
  const counted = await backend.countStates(filter);
  await judgeRead(status, before, status(), counted.total, target);
  if (looksShort({ before: counted.matching, after: counted.matching, read }))
    throw new StatekillError(`E_SHORT_READ: ${target}: the kernel-filtered read returned ${read} states, but an unfiltered read ` +
      `holds ${counted.matching} that pass the same filter (of ${counted.total}): the kernel's filter loses states, so the read ` +
      'is not trusted: nothing was killed. Run `statekill doctor` on this box', 5, 'E_SHORT_READ');
}

/**
 * Runs `read` between two counter readings and refuses a short result. A kernel-filtered result
 * (Snapshot.kernelFiltered) is verified by an unfiltered count of `hint`'s filter instead. Backends
 * without a counter (conntrack) are passed through unchecked.
 */
export async function readVerified<T extends { count: number; kernelFiltered?: boolean }>(backend: Backend, read: () => Promise<T>,
  hint?: ReadFilterLike): Promise<T> {
  const status = backend.status?.bind(backend);
  if (!status) return read();
  const before = status().states;
  const result = await read();
  if (result.kernelFiltered) await verifyFilteredRead(backend, hint ?? {}, result.count);
  else await judgeRead(status, before, status(), result.count, backend.describe().target);
  return result;
}
