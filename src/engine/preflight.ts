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
 *   refuse when  read < min(before, after) - 64 - 10% of max(before, after)
 *
 * min() absorbs states that expired during the read (they lower `after`); the 10% covers churn the
 * two counts cannot see: a busy firewall turning over a few percent of its table per second while
 * a read of a million states takes 0.2-1 s; 64 absorbs the counter's lag on small tables. A read
 * that fails this is re-judged once against a counter taken 300 ms later (past the purge
 * thread's next refresh), so a mass expiry that just happened is not mistaken for a lossy dump.
 *
 * A kernel-filtered read is smaller than the table by design; its count cannot be compared, so
 * read-hint.ts uses a kernel filter only where the read itself proves nothing needed was left out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StatekillError } from '../errors.js';
import type { Backend } from './types.js';

export const SHORT_READ_SLACK = 64;
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

/**
 * Runs `read` between two counter readings and refuses a short result. Backends without a
 * counter (conntrack) and kernel-filtered reads (`filtered`) are passed through unchecked.
 */
export async function readVerified<T extends { count: number }>(backend: Backend, read: () => Promise<T>,
  filtered = false): Promise<T> {
  const status = backend.status?.bind(backend);
  if (!status || filtered) return read();
  const before = status();
  const result = await read();
  const after = status();
  const c: ReadCounts = { before: before.states, after: after.states, read: result.count };
  if (looksShort(c)) {
    await sleep(STATUS_SETTLE_MS);
    const settled = status().states;
    if (looksShort({ ...c, after: Math.min(c.after, settled) })) throw shortReadError(c, after.source, backend.describe().target);
  }
  return result;
}
