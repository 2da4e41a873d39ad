/**
 * What the policy remembers between events: each gateway's last status and verdict, when it changed,
 * when its states were last killed, and any action deferred by hold-down or a missing target.
 * The watch daemon keeps it in memory; `event` keeps it in a small JSON file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { badInput } from '../errors.js';
import type { GatewayStatus } from './status.js';

export interface GatewayMemory {
  status: GatewayStatus;
  /** Whether the gateway counted as failed (down under some group's trigger) at `since`. */
  failed: boolean;
  /** ms epoch of the last verdict change */
  since: number;
  /** ms epoch of the last failover kill of its states */
  killedAt?: number;
  /** failover: waiting for a target or for hold-down; failback: waiting for the recovery to hold */
  pending?: 'failover' | 'failback';
  /** The status it recovered from, kept while a failback waits for hold-down. */
  failedStatus?: GatewayStatus;
}

export interface PolicyState {
  gateways: Record<string, GatewayMemory>;
  /** The newest status seen for each gateway, events and observations alike (viability reads it). */
  lastSeen?: Record<string, GatewayStatus>;
}

export function emptyState(): PolicyState {
  return { gateways: {} };
}

export function cloneState(s: PolicyState): PolicyState {
  return JSON.parse(JSON.stringify(s)) as PolicyState;
}

/** A missing file is a fresh start (like a monitor restart: nothing is assumed down). */
export function loadState(file: string): PolicyState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw badInput(`state file ${file}: ${(e as Error).message}`);
  }
  try {
    const s = JSON.parse(text) as PolicyState;
    if (s && typeof s.gateways === 'object' && s.gateways !== null) return s;
  } catch {
    /* fall through */
  }
  throw badInput(`state file ${file}: not a statekill policy state (delete it to start fresh)`);
}

/** Write-then-rename, so a concurrent reader never sees half a file. */
export function saveState(file: string, s: PolicyState): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n');
  renameSync(tmp, file);
}
