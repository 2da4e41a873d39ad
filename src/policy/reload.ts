/**
 * Ordering: kill only after the firewall has loaded the ruleset that no longer routes to the failed
 * gateway, so clients reconnecting in the gap do not land on it again (OPNsense #10684). Each product
 * has its own signal that a reload finished:
 *
 * - OPNsense (`filterLock`): filter_configure_sync() holds an exclusive flock(2) on /tmp/rules.debug
 *   from before it writes the rules until pfctl has loaded them (filter.inc, FileObject LOCK_EX).
 *   The monitor syshooks run before that reload (rc.routing_configure), so: the reload is done when
 *   the lock is free again after we saw it held, or the file was rewritten after the event.
 * - pfSense (`reloadStatus`): filter_configure_sync() rewrites /var/run/filter_reload_status as it
 *   goes and ends with the line "Done" once the rules are loaded (filter.inc, util.inc
 *   update_filter_reload_status()). Done after we saw another line, or written after the event.
 * - Anything else (`marker`): a file the reload rewrites; modified while we wait, or after the event.
 *
 * Times are compared in milliseconds. A `since` given in whole seconds (`date +%s` in a hook) cannot
 * order a write inside that second, so such a write counts only once a transition was seen: never
 * early, at worst at the timeout, which kills anyway and says so.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';

/** Resolves with the line to log once the reload is done (or the wait timed out); rejects if aborted. */
export type ReloadWaiter = (signal?: AbortSignal) => Promise<string>;

export interface Since {
  ms: number;
  /** 1000 when `ms` came from whole seconds, 0 when exact. */
  precisionMs: number;
  /**
   * The reload was already running at `ms` (pfSense runs its /usr/local/pkg/pf plugins inside
   * filter_configure_sync(), after the load and just before "Done"): its end is the next "Done" or
   * lock release seen, even one that came before this process could look.
   */
  running?: boolean;
}

export interface WaitDeps {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  pollMs?: number;
  /** Whether `file` is flock(2)ed by someone else: true held, false free, undefined unknown. */
  probeLock?: (file: string) => Promise<boolean | undefined>;
}

export type ReloadSignal = { kind: 'marker' | 'filterLock' | 'reloadStatus'; file: string };

function abortError(): Error {
  const e = new Error('aborted while waiting for the ruleset reload');
  e.name = 'AbortError';
  return e;
}

async function mtimeMs(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Written after the event: certainly so only past the precision of `since`. */
function after(m: number | undefined, since: Since): boolean {
  return m !== undefined && m >= since.ms + since.precisionMs;
}

/**
 * flock(1) in non-blocking shared mode: exit 0 means nobody holds an exclusive lock. OPNsense ships
 * /usr/local/bin/flock (a core dependency, used by its own alarm action); Linux has util-linux's.
 */
export function flockProbe(command = 'flock'): (file: string) => Promise<boolean | undefined> {
  return (file) =>
    new Promise((resolve) => {
      execFile(command, ['-n', '-s', '-E', '75', file, 'true'], { timeout: 5000 }, (err) => {
        if (!err) return resolve(false);
        resolve((err as { code?: unknown }).code === 75 ? true : undefined);
      });
    });
}

export function reloadWaiter(sig: ReloadSignal, since: Since, timeoutMs: number, deps: WaitDeps = {}): ReloadWaiter {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pollMs = deps.pollMs ?? 100;
  const probe = deps.probeLock ?? flockProbe();
  return async (signal) => {
    const start = now();
    let transition = since.running === true && sig.kind !== 'marker'; // saw the reload in progress
    const initial = await mtimeMs(sig.file);
    for (;;) {
      if (signal?.aborted) throw abortError();
      const m = await mtimeMs(sig.file);
      if (sig.kind === 'marker') {
        if (m !== undefined && (m !== initial || after(m, since))) return `ruleset reloaded (${sig.file} updated)`;
      } else if (sig.kind === 'reloadStatus') {
        let last = '';
        try {
          last = (await readFile(sig.file, 'utf8')).trim().split('\n').pop()?.trim() ?? '';
        } catch {
          /* not there yet */
        }
        if (last !== 'Done' && m !== undefined) transition = true;
        else if (last === 'Done' && (transition || after(m, since))) return `ruleset reloaded (${sig.file} says Done)`;
      } else if (m !== undefined) {
        const held = await probe(sig.file);
        if (held) transition = true;
        else if (held === false && (transition || after(m, since))) return `ruleset reloaded (filter lock on ${sig.file} released)`;
        else if (held === undefined && after(m, since)) return `ruleset reloaded (${sig.file} updated; its lock could not be probed)`;
      }
      if (now() - start >= timeoutMs) return `no ruleset reload seen within ${Math.round(timeoutMs / 1000)} s (${sig.file}); killing anyway`;
      await sleep(pollMs);
    }
  };
}

/**
 * One wait per status change: once the reload that followed it was seen (or waited out), later
 * kills of the same event (a hold-down that ended, a retry) need not wait for another reload that
 * may never come. A wait that was stopped is not remembered.
 */
export function onceWaiter(wait: ReloadWaiter): ReloadWaiter {
  let done: string | undefined;
  return async (signal) => (done ??= await wait(signal));
}

/** Kept for library users: the plain modification-time marker. */
export function waitForMarker(file: string, sinceMs: number, timeoutMs: number, deps: WaitDeps = {}): ReloadWaiter {
  return reloadWaiter({ kind: 'marker', file }, { ms: sinceMs, precisionMs: 0 }, timeoutMs, deps);
}
