/**
 * The failover decision, pure: config + gateway statuses + one event + what we remembered ->
 * decisions (each with one log line and zero or more selections) and the new memory.
 * No kernel, no clock, no I/O: the caller passes `now` and the CARP role and does the killing.
 */
import type { Selection } from '../engine/types.js';
import type { GatewayConfig, GroupConfig, PolicyConfig, Trigger } from './config.js';
import type { CarpRole } from './carp.js';
import { failbackDecisions } from './failback.js';
import { failoverSelections, sharesFamily } from './selections.js';
import { cloneState, type GatewayMemory, type PolicyState } from './state.js';
import { describeStatus, effectiveStatus, isDownUnder, sameStatus, type GatewayStatus } from './status.js';

export interface Decision {
  gateway: string;
  kind: 'failover' | 'failback' | 'none';
  action: 'kill' | 'skip' | 'defer';
  /** The one log line, reason included. */
  reason: string;
  /** Empty unless action is 'kill'. */
  selections: Selection[];
  group?: string;
}

export interface PolicyEvent {
  gateway: string;
  status: GatewayStatus;
}

export interface DecideInput {
  config: PolicyConfig;
  /** The gateway that changed. Omit to only re-check deferred actions (hold-down expiry). */
  event?: PolicyEvent;
  /**
   * Several gateways that changed in one event (OPNsense passes every alarmed gateway at once):
   * each is decided with the fresh statuses of all of them, so the result does not depend on order.
   */
  events?: PolicyEvent[];
  /** Current statuses of other gateways, where known (sockets, hook arguments); else memory. */
  observed?: Record<string, GatewayStatus>;
  previous: PolicyState;
  /** ms epoch */
  now: number;
  /** Required when config.carp is set: a node that is not master never kills. */
  carp?: CarpRole;
}

export interface DecideResult {
  decisions: Decision[];
  state: PolicyState;
  /** ms epoch when a deferred action should be re-checked (decide again without an event). */
  retryAt?: number;
}

/** Everything a decision step needs, computed once per call. */
export interface Context {
  config: PolicyConfig;
  now: number;
  statusOf: (gw: string) => GatewayStatus;
  gateway: (name: string) => GatewayConfig;
  groupsOf: (gw: string) => GroupConfig[];
  holdDownMs: (gw: string) => number;
}

/** The single `event` and the `events` list as one list. */
function eventsOf(input: DecideInput): PolicyEvent[] {
  return [...(input.event ? [input.event] : []), ...(input.events ?? [])];
}

function makeContext(input: DecideInput, state: PolicyState): Context {
  const { config } = input;
  const byName = new Map(config.gateways.map((g) => [g.name, g]));
  const fresh = new Map(eventsOf(input).map((e) => [e.gateway, e.status]));
  const statusOf = (name: string): GatewayStatus => {
    const gw = byName.get(name)!;
    return effectiveStatus(gw, fresh.get(name) ?? input.observed?.[name] ?? state.lastSeen?.[name] ?? state.gateways[name]?.status);
  };
  const groupsOf = (gw: string) => config.groups.filter((g) => g.members.some((m) => m.gateway === gw));
  return {
    config,
    now: input.now,
    statusOf,
    gateway: (n) => byName.get(n)!,
    groupsOf,
    holdDownMs: (gw) => {
      const gs = groupsOf(gw);
      return 1000 * (gs.length ? Math.max(...gs.map((g) => g.holdDownSeconds)) : config.holdDownSeconds);
    },
  };
}

/**
 * How default gateway switching reads a status: pfSense fixup_default_gateway() skips a gateway
 * that is not online under the strictest trigger (is_gateway_online()'s default); OPNsense switches
 * on `down` (gateway_watcher.php).
 */
export function switchingTrigger(config: PolicyConfig): Trigger {
  return config.product === 'pfsense' ? 'downlosslatency' : 'down';
}

/** Failed = taken out of the pool of some group containing it, or hard down (default switching, no group). */
export function isFailed(ctx: Context, gw: string, s: GatewayStatus): boolean {
  if (s.state !== 'up') return true;
  if (ctx.config.gatewaySwitching && isDownUnder(switchingTrigger(ctx.config), s)) return true;
  return ctx.groupsOf(gw).some((g) => isDownUnder(g.trigger, s));
}

function inPool(ctx: Context, gw: string): string {
  const gs = ctx.groupsOf(gw);
  return gs.length ? ` is not down under ${gs.map((g) => `group ${g.name} (trigger ${g.trigger})`).join(', ')}` : ', not failed';
}

function ago(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** Where the failed gateway's clients can go, and every candidate's status for the log. */
function viableTargets(ctx: Context, gw: GatewayConfig, groups: GroupConfig[]) {
  const targets: string[] = [];
  const candidates = new Map<string, string>();
  for (const g of groups)
    for (const m of g.members) {
      if (m.gateway === gw.name) continue;
      const other = ctx.gateway(m.gateway);
      if (!sharesFamily(gw, other)) continue;
      const s = ctx.statusOf(m.gateway);
      candidates.set(m.gateway, describeStatus(s));
      if (!isDownUnder(g.trigger, s) && !targets.includes(m.gateway)) targets.push(m.gateway);
    }
  if (ctx.config.gatewaySwitching)
    for (const other of ctx.config.gateways) {
      if (other.name === gw.name || !sharesFamily(gw, other)) continue;
      const s = ctx.statusOf(other.name);
      candidates.set(other.name, describeStatus(s));
      if (!isDownUnder(switchingTrigger(ctx.config), s) && !targets.includes(other.name)) targets.push(other.name);
    }
  const list = [...candidates].map(([n, s]) => `${n}: ${s}`).join(', ');
  return { targets, candidates: list || 'no other gateway of its family in its groups' };
}

/** Kill the failed gateway's states, or say why not. Sets `pending` when a later event may allow it. */
function failover(ctx: Context, gwName: string, mem: GatewayMemory): Decision {
  const gw = ctx.gateway(gwName);
  const s = ctx.statusOf(gwName);
  const skip = (reason: string, pending?: 'failover'): Decision => {
    mem.pending = pending;
    return { gateway: gwName, kind: 'failover', action: 'skip', reason: `skipping state kill for gateway ${gwName}: ${reason}`, selections: [] };
  };
  if (s.state === 'force_down' && !gw.killOnForceDown) return skip('forced down (maintenance) and its killOnForceDown is off');
  if (s.state === 'disabled') return skip('gateway is disabled in the config');

  const groups = ctx.groupsOf(gwName);
  const failedIn = groups.filter((g) => isDownUnder(g.trigger, s));
  const killIn = failedIn.filter((g) => g.killOnDown);
  const switching = ctx.config.gatewaySwitching && isDownUnder(switchingTrigger(ctx.config), s);
  if (failedIn.length && !killIn.length && !switching)
    return skip(`killOnDown is off for group${failedIn.length > 1 ? 's' : ''} ${failedIn.map((g) => g.name).join(', ')}`);
  if (!killIn.length && !switching)
    return skip(groups.length ? `${describeStatus(s)}${inPool(ctx, gwName)}` : 'not in any group and gateway switching is off: nowhere to fail over');

  const { targets, candidates } = viableTargets(ctx, gw, killIn);
  const why = `${describeStatus(s)}${killIn.length ? ` under ${killIn.map((g) => `group ${g.name} (trigger ${g.trigger})`).join(', ')}` : ' (gateway switching)'}`;
  const forcing = killIn.filter((g) => !g.requireViableTarget);
  let reason: string;
  if (targets.length) {
    reason = `killing states of gateway ${gwName}: ${why}; failover target ${targets.join(', ')} (${candidates})`;
  } else if (forcing.length) {
    reason = `killing states of gateway ${gwName} without a viable failover target (${candidates}): ${why}; group ${forcing.map((g) => g.name).join(', ')} sets requireViableTarget: false`;
  } else {
    return skip(`no viable failover target (${candidates})`, 'failover');
  }

  const hold = ctx.holdDownMs(gwName);
  if (mem.killedAt !== undefined && ctx.now - mem.killedAt < hold) {
    mem.pending = 'failover';
    return {
      gateway: gwName,
      kind: 'failover',
      action: 'defer',
      reason: `deferring state kill for gateway ${gwName}: hold-down, its states were killed ${ago(ctx.now - mem.killedAt)} ago (< ${ago(hold)})`,
      selections: [],
    };
  }
  const selections = failoverSelections(gw);
  if (!selections.length) return skip(`its address is not known (dynamic, and the firewall reported none): ${why}`, 'failover');
  mem.pending = undefined;
  mem.killedAt = ctx.now;
  return { gateway: gwName, kind: 'failover', action: 'kill', reason, selections };
}

/** A recovery: fail back now if it has held long enough, else defer. */
function recovery(ctx: Context, gwName: string, mem: GatewayMemory, before: GatewayStatus): Decision[] {
  const hold = ctx.holdDownMs(gwName);
  const upFor = ctx.now - mem.since;
  if (upFor < hold) {
    mem.pending = 'failback';
    return [
      {
        gateway: gwName,
        kind: 'failback',
        action: 'defer',
        reason: `deferring failback for gateway ${gwName}: up for ${ago(upFor)}, hold-down ${ago(hold)}`,
        selections: [],
      },
    ];
  }
  mem.pending = undefined;
  return failbackDecisions(ctx, gwName, before);
}

function withCarp(d: Decision, carp: CarpRole | undefined, gated: boolean): Decision {
  if (!gated || d.action !== 'kill' || carp?.master) return d;
  const detail = carp?.detail ?? 'CARP role unknown';
  const what = d.kind === 'failback' ? 'failback kill' : 'state kill';
  return { ...d, action: 'skip', selections: [], reason: `skipping ${what} for gateway ${d.gateway}: ${detail} (pfsync would carry the deletes to the master)` };
}

export function decide(input: DecideInput): DecideResult {
  const state = cloneState(input.previous);
  const ctx = makeContext(input, state);
  const events = eventsOf(input);
  state.lastSeen = { ...state.lastSeen, ...input.observed };
  for (const e of events) state.lastSeen[e.gateway] = e.status;
  const decisions: Decision[] = [];
  const decided = new Set<string>();
  const eventGateways = new Set(events.map((e) => e.gateway));

  for (const event of events) {
    const name = event.gateway;
    const s = ctx.statusOf(name);
    const failed = isFailed(ctx, name, s);
    const prev = state.gateways[name];
    decided.add(name);
    if (!prev) {
      const mem: GatewayMemory = { status: s, failed, since: input.now };
      state.gateways[name] = mem;
      if (failed) decisions.push(failover(ctx, name, mem));
      else
        decisions.push({
          gateway: name,
          kind: 'none',
          action: 'skip',
          reason: `no state kill for gateway ${name}: first status seen is ${describeStatus(s)}, which is not a recovery`,
          selections: [],
        });
    } else if (prev.failed === failed) {
      const changed = !sameStatus(prev.status, s);
      prev.status = s;
      if (prev.pending) decided.delete(name); // re-evaluated below
      else
        decisions.push({
          gateway: name,
          kind: 'none',
          action: 'skip',
          reason: failed
            ? `no state kill for gateway ${name}: ${changed ? `now ${describeStatus(s)}, ` : ''}already failed since ${new Date(prev.since).toISOString()}; nothing new to do`
            : `no state kill for gateway ${name}: ${describeStatus(s)}${inPool(ctx, name)}`,
          selections: [],
        });
    } else {
      const before = prev.status;
      if (!failed) prev.failedStatus = before;
      prev.status = s;
      prev.failed = failed;
      prev.since = input.now;
      prev.pending = undefined;
      if (failed) decisions.push(failover(ctx, name, prev));
      else decisions.push(...recovery(ctx, name, prev, before));
    }
  }

  // Deferred actions: a target may have come up, or a hold-down may have ended.
  for (const gw of input.config.gateways) {
    const mem = state.gateways[gw.name];
    if (!mem?.pending || decided.has(gw.name)) continue;
    const s = ctx.statusOf(gw.name);
    const failed = isFailed(ctx, gw.name, s);
    if (mem.pending === 'failover') {
      if (failed) {
        const d = failover(ctx, gw.name, mem);
        // A still-missing target is not news: log only when something changes.
        if (d.action === 'kill' || eventGateways.has(gw.name)) decisions.push(d);
      } else mem.pending = undefined;
    } else if (mem.pending === 'failback') {
      if (!failed) {
        const ds = recovery(ctx, gw.name, mem, mem.failedStatus ?? { state: 'down', delay: false, loss: false });
        if (ds[0]?.action !== 'defer' || eventGateways.has(gw.name)) decisions.push(...ds);
      } else mem.pending = undefined;
    }
  }

  const gated = input.config.carp !== undefined;
  const out = decisions.map((d) => withCarp(d, input.carp, gated));
  // What a backup did not kill is not remembered as killed (hold-down must not count it), and stays
  // pending: once this node is master, the next event or re-check kills what is still due.
  out.forEach((d, i) => {
    const mem = state.gateways[d.gateway];
    if (d === decisions[i] || !mem) return;
    if (d.kind === 'failover' && mem.killedAt === input.now) delete mem.killedAt;
    mem.pending = d.kind === 'failback' ? 'failback' : 'failover';
    mem.carpSkipped = true;
  });
  for (const d of out) if (d.action === 'kill' && state.gateways[d.gateway]) delete state.gateways[d.gateway].carpSkipped;

  let retryAt: number | undefined;
  for (const gw of input.config.gateways) {
    const mem = state.gateways[gw.name];
    if (!mem?.pending) continue;
    const hold = ctx.holdDownMs(gw.name);
    const at = mem.pending === 'failback' ? mem.since + hold : mem.killedAt !== undefined ? mem.killedAt + hold : undefined;
    if (at !== undefined && at > input.now && (retryAt === undefined || at < retryAt)) retryAt = at;
  }
  return { decisions: out, state, retryAt };
}
