/**
 * Waiting that a stop (SIGTERM, watch.stop()) ends at once: a hold-down, a second pass or another
 * event's lock can last minutes, and a firewall's `kill` must not wait for them. The default timer
 * is cancelled on abort (nothing keeps the process alive) and capped at setTimeout's limit.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { MAX_TIMER_MS } from './config.js';

export type Sleep = (ms: number) => Promise<void>;

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects). `sleep` is a test's fake clock. */
export function pause(ms: number, signal?: AbortSignal, sleep?: Sleep): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  const wait = Math.min(Math.max(0, ms), MAX_TIMER_MS);
  if (!sleep) return delay(wait, undefined, { signal }).catch(() => undefined);
  if (!signal) return sleep(wait);
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    sleep(wait).then(done, done);
  });
}
