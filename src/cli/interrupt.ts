/**
 * SIGINT/SIGTERM during a kill: the library stops between kill batches (an AbortSignal) instead of the
 * process dying mid-table, so the report of what was killed still prints. A second signal is not
 * caught: it ends the process at once, as usual.
 */
import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type Interrupt = (typeof SIGNALS)[number];

/** The exit code of a command a signal stopped: 128 + its number, as a shell reports it. */
export function interruptExitCode(sig: Interrupt): number {
  return 128 + constants.signals[sig];
}

/** Runs `work` with a signal that SIGINT/SIGTERM abort (the abort reason is the signal's name). */
export async function withInterrupts<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const handlers = SIGNALS.map((sig) => [sig, () => ac.abort(sig)] as const);
  for (const [sig, h] of handlers) process.once(sig, h);
  try {
    return await work(ac.signal);
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
  }
}

export function isInterrupt(reason: unknown): reason is Interrupt {
  return (SIGNALS as readonly unknown[]).includes(reason);
}
