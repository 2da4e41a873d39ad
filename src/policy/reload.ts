/**
 * Ordering: kill only after the firewall has loaded the ruleset that no longer routes to the failed
 * gateway, so clients reconnecting in the gap do not land on it again (OPNsense #10684). Both products
 * rewrite /tmp/rules.debug on every filter reload; its modification time is the signal.
 */
import { stat } from 'node:fs/promises';

export type ReloadWaiter = () => Promise<string>;

/** Resolves with a note once `file` is modified at or after `sinceMs`, or when `timeoutMs` passes. */
export function waitForMarker(
  file: string,
  sinceMs: number,
  timeoutMs: number,
  deps: { now?: () => number; sleep?: (ms: number) => Promise<void>; pollMs?: number } = {},
): ReloadWaiter {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pollMs = deps.pollMs ?? 200;
  return async () => {
    const start = now();
    for (;;) {
      try {
        // Marker times have second resolution on some filesystems: compare whole seconds.
        if (Math.floor((await stat(file)).mtimeMs / 1000) >= Math.floor(sinceMs / 1000)) return `ruleset reloaded (${file} updated)`;
      } catch {
        /* not there yet */
      }
      if (now() - start >= timeoutMs) return `no ruleset reload seen within ${Math.round(timeoutMs / 1000)} s (${file}); killing anyway`;
      await sleep(pollMs);
    }
  };
}
