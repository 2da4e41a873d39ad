/**
 * `--audit FILE`: the per-state record of what `event` and `watch` killed, as JSON Lines (one line
 * per state a kill went for, with its result). Log lines and `--json` carry counts only.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import type { PlannedState } from '../engine/plan.js';
import { badInput } from '../errors.js';
import type { KillContext } from './execute.js';

export interface AuditSink {
  /** `states` in plan order (plannedStates()); the first `results.length` were killed or tried. */
  record(context: KillContext | undefined, states: Iterable<PlannedState>, attempted: number, results: Int32Array | undefined, dryRun: boolean): void;
  close(): void;
}

function result(r: number | undefined, dryRun: boolean): string {
  if (dryRun) return 'would kill';
  if (r === undefined) return 'not run';
  if (r === 0) return 'killed';
  if (r === 1) return 'already gone';
  return `failed (errno ${-r})`;
}

/** Appends to `file` (created 0600 if missing); refuses a path it cannot open before anything is killed. */
export function auditFile(file: string, now: () => number = Date.now): AuditSink {
  let fd: number;
  try {
    // A FIFO nobody reads would block the open (and the event) forever: O_NONBLOCK makes that
    // ENXIO. Then the file is opened again for ordinary, blocking writes, before the probe closes
    // (closing it first would hand the reader its end of file).
    const probe = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o600);
    try {
      fd = openSync(file, 'a', 0o600);
    } finally {
      closeSync(probe);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw badInput(`--audit: ${file} is a FIFO nobody reads (writing would block)`);
    throw badInput(`--audit: cannot open ${file}: ${(e as Error).message}`);
  }
  return {
    record(context, states, attempted, results, dryRun) {
      const time = new Date(now()).toISOString();
      const head = { time, gateway: context?.gateway, kind: context?.kind };
      let chunk = '';
      let i = 0;
      for (const s of states) {
        if (i >= attempted) break; // ambiguous candidates that were not killed
        chunk += JSON.stringify({ ...head, id: s.id, creatorid: s.creatorid, reason: s.reason, result: result(results?.[i], dryRun) }) + '\n';
        i++;
        if (chunk.length > 1 << 20) {
          writeSync(fd, chunk);
          chunk = '';
        }
      }
      if (chunk) writeSync(fd, chunk);
    },
    close() {
      closeSync(fd);
    },
  };
}
