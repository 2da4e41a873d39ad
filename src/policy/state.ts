/**
 * What the policy remembers between events: each gateway's last status and verdict, when it changed,
 * when its states were last killed, any action deferred by hold-down, a missing target or a CARP
 * backup, and the addresses last discovered for dynamic gateways.
 * The watch daemon keeps it in memory; `event` keeps it in a small JSON file, read and written under
 * a lock so concurrent events (pfSense runs one alarm script per gateway at once) never lose memory.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { lock as lockFile } from 'proper-lockfile';
import { badInput, StatekillError } from '../errors.js';
import { describeKind, makeDirs, regularOrAbsent } from './files.js';
import { pause } from './pause.js';
import type { GatewayStatus } from './status.js';

const MUST = 'the policy memory must be a regular file';

export interface GatewayMemory {
  status: GatewayStatus;
  /** Whether the gateway counted as failed (down under some group's trigger) at `since`. */
  failed: boolean;
  /** ms epoch of the last verdict change */
  since: number;
  /** ms epoch of the last failover kill of its states (set only once the kill succeeded) */
  killedAt?: number;
  /** failover: waiting for a target, hold-down, a CARP master or a retry; failback: likewise */
  pending?: 'failover' | 'failback';
  /** The status it recovered from, kept while a failback waits. */
  failedStatus?: GatewayStatus;
  /** The pending action was a kill this node skipped as CARP backup. */
  carpSkipped?: boolean;
}

export interface PolicyState {
  gateways: Record<string, GatewayMemory>;
  /** The newest status seen for each gateway, events and observations alike (viability reads it). */
  lastSeen?: Record<string, GatewayStatus>;
  /** Addresses last discovered for dynamic gateways (`addresses`, `natAddresses` as text). */
  discovered?: Record<string, { addresses: string[]; natAddresses: string[] }>;
}

const status = z.object({
  state: z.enum(['up', 'down', 'force_down', 'disabled', 'unknown']),
  delay: z.boolean(),
  loss: z.boolean(),
  label: z.string().max(200).optional(),
});
const epoch = z.number().finite().nonnegative();
const stateSchema = z.object({
  gateways: z.record(
    z.string(),
    z.object({
      status,
      failed: z.boolean(),
      since: epoch,
      killedAt: epoch.optional(),
      pending: z.enum(['failover', 'failback']).optional(),
      failedStatus: status.optional(),
      carpSkipped: z.boolean().optional(),
    }),
  ),
  lastSeen: z.record(z.string(), status).optional(),
  discovered: z.record(z.string(), z.object({ addresses: z.array(z.string().max(64)), natAddresses: z.array(z.string().max(64)) })).optional(),
});

/**
 * Whether an event changed some gateway's verdict (failed or not): the firewall reloads its ruleset
 * for that, so its kills wait for the reload. A first status that is not failed is a baseline, and
 * a re-check of something pending (hold-down, CARP promotion, a retry) changes nothing.
 */
export function verdictChanged(before: PolicyState, after: PolicyState, gateways: string[]): boolean {
  return gateways.some((g) => {
    const a = after.gateways[g];
    const b = before.gateways[g];
    return a !== undefined && (b === undefined ? a.failed : a.failed !== b.failed);
  });
}

export function emptyState(): PolicyState {
  return { gateways: {} };
}

export function cloneState(s: PolicyState): PolicyState {
  return JSON.parse(JSON.stringify(s)) as PolicyState;
}

export interface LoadedState {
  state: PolicyState;
  /** Set when the file was unreadable as a policy state and a fresh start was made. */
  corrupt?: string;
}

/** Checks a parsed document; `undefined` when it is not a policy state. */
export function parseState(doc: unknown): PolicyState | undefined {
  const r = stateSchema.safeParse(doc);
  return r.success ? (r.data as PolicyState) : undefined;
}

/**
 * A missing file is a fresh start (like a monitor restart: nothing is assumed down). So is a corrupt
 * one (`1e400`, wrong shapes, half a file): refusing would stop every later event from killing until
 * someone deletes it. The bad file is kept beside it as `<file>.corrupt` (unless `keepCorrupt` is
 * false: a dry run changes nothing) and the caller logs `corrupt`.
 */
export function readState(file: string, o: { moveCorrupt?: boolean } = {}): LoadedState {
  let text: string;
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyState() };
    throw badInput(`state file ${file}: ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw badInput(`state file ${file} is ${describeKind(st)}: ${MUST}`);
    text = readFileSync(fd, 'utf8');
  } catch (e) {
    if (e instanceof StatekillError) throw e;
    throw badInput(`state file ${file}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  const state = parseState(doc);
  if (state) return { state };
  let kept = '';
  if (o.moveCorrupt !== false) {
    try {
      renameSync(file, `${file}.corrupt`);
      kept = `; kept as ${file}.corrupt`;
    } catch {
      /* leave it; it is overwritten by the next save */
    }
  }
  return { state: emptyState(), corrupt: `state file ${file} is not a statekill policy state (${text.length} bytes); starting with empty memory${kept}` };
}

/** The memory in `file` (a corrupt one reads as empty and stays where it is). */
export function loadState(file: string): PolicyState {
  return readState(file, { moveCorrupt: false }).state;
}

/** Write-then-rename, so a concurrent reader never sees half a file. */
export function saveState(file: string, s: PolicyState): void {
  regularOrAbsent(file, 'state file', MUST);
  makeDirs(dirname(file), `state file ${file}`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n');
  renameSync(tmp, file);
}

export type Unlock = () => Promise<void>;

/**
 * Takes the lock of a state file (`<file>.lock`, proper-lockfile: an mkdir lock refreshed while held
 * and taken over when its holder died, so it works on FreeBSD, Linux and OpenWrt alike without
 * native code). Waits up to `waitMs`, then E_BUSY.
 */
export async function lockState(
  file: string,
  o: { waitMs: number; sleep?: (ms: number) => Promise<void>; onCompromised?: (e: Error) => void; signal?: AbortSignal },
): Promise<Unlock> {
  // Before the lock: `<file>.lock` must not appear beside a device.
  regularOrAbsent(file, 'state file', MUST);
  makeDirs(dirname(file), `state file ${file}`);
  const start = Date.now();
  for (;;) {
    if (o.signal?.aborted) throw new StatekillError(`state file ${file}: stopped while waiting for its lock; nothing decided`, 4, 'EINTR');
    try {
      // A holder refreshes the lock every 5 s; one not refreshed for 20 s died and is taken over.
      return await lockFile(file, { realpath: false, stale: 20_000, update: 5_000, onCompromised: o.onCompromised ?? (() => {}) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw new StatekillError(`state file ${file}: cannot lock: ${(e as Error).message}`, 5, 'EIO');
      if (Date.now() - start >= o.waitMs) throw new StatekillError(`state file ${file}: still locked by another statekill after ${Math.round(o.waitMs / 1000)} s`, 16, 'EBUSY');
      await pause(100, o.signal, o.sleep);
    }
  }
}
