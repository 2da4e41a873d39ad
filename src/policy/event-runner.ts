/**
 * One gateway event end to end, as `statekill event` and the hook scripts run it:
 * lock the memory, read every gateway's status from the firewall, decide all named gateways on
 * those fresh statuses, wait for the ruleset reload, kill, remember what really happened, and stay
 * around while a hold-down defers something.
 */
import { badInput } from '../errors.js';
import { probeCarpRole, ifconfigProbe, type CarpProbe, type CarpRole } from './carp.js';
import { findGateway, type PolicyConfig } from './config.js';
import { decide, type Decision, type DecideResult, type PolicyEvent } from './decide.js';
import { applyDiscovered } from './effective.js';
import { killIncomplete, runDecisions, type Outcome, type PolicyLog, type StateKiller } from './execute.js';
import { onceWaiter, reloadWaiter, type ReloadSignal, type ReloadWaiter, type Since, type WaitDeps } from './reload.js';
import { pause } from './pause.js';
import { observeGateways, oneLine, type Observation, type SourceDeps } from './sources.js';
import { cloneState, lockState, readState, saveState, verdictChanged, type PolicyState } from './state.js';
import { classifySample, describeStatus, parseStatusWord, sameStatus, type DpingerSample, type GatewayStatus } from './status.js';

export interface EventRequest {
  /** Gateway names as the firewall passed them; names not in the config are logged and skipped. */
  gateways: string[];
  /** Every configured gateway: those whose status changed are events, pending actions are re-checked. */
  all?: boolean;
  /** A status word, or 'auto' (from `sample`, else the firewall). */
  status: string;
  sample?: DpingerSample;
  /** dpinger's alarm flag: logged, decides nothing (dpinger raises it for latency as well as loss). */
  alarm?: 0 | 1;
  /** Known statuses of other gateways (NAME -> word). */
  others?: Record<string, string>;
  stateFile?: string;
  /** Overrides config.ordering. */
  reload?: { signal: ReloadSignal; since?: Since };
  /**
   * The event was started by the ruleset reload itself (pfSense's post-load plugin): the reload was
   * running at `since`, so the next "Done" or lock release ends it. Needs a reload status or lock.
   */
  duringReload?: boolean;
  /** Do not stay around for hold-down re-checks. */
  noWait?: boolean;
  /** Decide and plan, kill nothing, and never write the shared memory file. */
  dryRun?: boolean;
  /** Overrides config.carp / the ifconfig probe. */
  carpRole?: 'master' | 'backup';
  /** SIGTERM: stop; whatever was not killed stays pending for the next event. */
  signal?: AbortSignal;
}

export interface EventDeps extends SourceDeps {
  killer: StateKiller;
  log: PolicyLog;
  carpProbe?: CarpProbe;
  /** How long to wait for another event's lock on the memory file (default: reload timeout + 60 s). */
  lockWaitMs?: number;
  probeLock?: WaitDeps['probeLock'];
}

export interface EventResult {
  decisions: Decision[];
  outcomes: Outcome[];
  /** Names the event gave that are not in the config. */
  unknown: string[];
  /** Stopped (SIGTERM) while a deferred action waited: it stays pending in memory. */
  stopped?: boolean;
}

const plain = (name: string) => `'${oneLine(name)}'`;

/** The reload signal: the request's, else the config's (filter lock, reload status, marker). */
function reloadSignal(config: PolicyConfig, req: EventRequest): ReloadSignal | undefined {
  if (req.reload) return req.reload.signal;
  const o = config.ordering;
  if (o.filterLock) return { kind: 'filterLock', file: o.filterLock };
  if (o.reloadStatus) return { kind: 'reloadStatus', file: o.reloadStatus };
  if (o.reloadMarker) return { kind: 'marker', file: o.reloadMarker };
  return undefined;
}

async function carpRoleOf(config: PolicyConfig, req: EventRequest, deps: EventDeps): Promise<CarpRole | undefined> {
  const fixed = req.carpRole ?? config.carp?.role;
  if (fixed) return { master: fixed === 'master', detail: `this node is CARP ${fixed.toUpperCase()} (${req.carpRole ? '--carp-role' : 'config carp.role'})` };
  return config.carp ? probeCarpRole(deps.carpProbe ?? ifconfigProbe, config.carp) : undefined;
}

interface Observed {
  config: PolicyConfig;
  events: PolicyEvent[];
  others: Record<string, GatewayStatus>;
}

/** Fresh statuses of every gateway, read before anything is decided. */
async function observe(config: PolicyConfig, req: EventRequest, known: string[], state: PolicyState, deps: EventDeps, round: number): Promise<Observed> {
  const explicit = req.status !== 'auto' || req.sample !== undefined;
  const observations: Map<string, Observation> = await observeGateways(
    { ...config, status: { ...config.status, noDataWaitSeconds: round === 0 && !explicit ? config.status.noDataWaitSeconds : 0 } },
    deps,
  );
  if (round === 0) for (const o of observations.values()) for (const w of o.warnings) deps.log('warn', w);
  const eff = applyDiscovered(config, observations, state);
  const fresh = new Map<string, GatewayStatus>();
  for (const [name, o] of observations) if (o.status) fresh.set(name, o.status);
  for (const [name, word] of Object.entries(req.others ?? {})) fresh.set(name, parseStatusWord(word));

  const events: PolicyEvent[] = [];
  const eventNames = req.all ? config.gateways.map((g) => g.name) : round === 0 ? known : [];
  for (const name of eventNames) {
    let status: GatewayStatus | undefined;
    let noData: string | undefined;
    if (!req.all && req.status !== 'auto') status = parseStatusWord(req.status);
    else if (!req.all && req.sample) {
      const gw = findGateway(config, name)!;
      status = classifySample(req.sample, gw.thresholds, config.product);
      if (!status) noData = `the sample '${req.sample.latencyUs} ${req.sample.stddevUs} ${req.sample.lossPercent}' carries no data (dpinger just started)`;
    } else {
      status = fresh.get(name);
      noData = observations.get(name)?.noData;
    }
    const mem = state.gateways[name];
    if (!status) {
      if (req.all) continue; // nothing new about it
      const kept = mem ? `; keeping its last known status ${describeStatus(mem.status)}` : ' and none is remembered';
      deps.log('warn', `no state kill for gateway ${name}: no status data (${noData ?? 'no answer'})${kept}`, { gateway: name, kind: 'none', action: 'skip' });
      continue;
    }
    fresh.delete(name);
    if (req.all && mem && sameStatus(mem.status, status)) {
      fresh.set(name, status);
      continue;
    }
    events.push({ gateway: name, status });
  }
  return { config: eff, events, others: Object.fromEntries(fresh) };
}

/** What a kill that did not complete leaves behind: the action stays pending, so the next event retries it. */
function recordOutcomes(state: PolicyState, outcomes: Outcome[], log: PolicyLog): void {
  for (const x of outcomes) {
    if (!killIncomplete(x)) continue;
    const mem = state.gateways[x.decision.gateway];
    if (!mem) continue;
    if (x.decision.kind === 'failover') delete mem.killedAt;
    mem.pending = x.decision.kind === 'failback' ? 'failback' : 'failover';
    log('warn', `${x.decision.gateway}: the ${x.decision.kind} kill did not complete; it stays pending and the next event for this firewall retries it`, {
      gateway: x.decision.gateway,
      kind: x.decision.kind,
    });
  }
}

/** Until a kill has run, memory says it is still due (a crash mid-kill is retried, never lost). */
function asPending(r: DecideResult): PolicyState {
  const s = cloneState(r.state);
  for (const d of r.decisions) {
    if (d.action !== 'kill' || !s.gateways[d.gateway]) continue;
    if (d.kind === 'failover') delete s.gateways[d.gateway].killedAt;
    s.gateways[d.gateway].pending = d.kind === 'failback' ? 'failback' : 'failover';
  }
  return s;
}

export async function runEvent(config: PolicyConfig, req: EventRequest, deps: EventDeps): Promise<EventResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  if (req.all && (req.status !== 'auto' || req.sample !== undefined || req.alarm !== undefined))
    throw badInput('event: --status, --sample and --alarm describe the gateways named by --gateway; with --all each status comes from the firewall');
  if (req.status !== 'auto') parseStatusWord(req.status); // bad words are bad input before anything else
  for (const name of Object.keys(req.others ?? {}))
    if (!findGateway(config, name)) throw badInput(`event: --gateway-status names unknown gateway ${plain(name)}`);
  const known = [...new Set(req.gateways.filter((g) => findGateway(config, g)))];
  const unknown = req.gateways.filter((g) => !findGateway(config, g));
  if (!req.all && !known.length)
    throw badInput(`event: ${unknown.length > 1 ? 'none of the gateways' : 'gateway'} ${unknown.map(plain).join(', ')} ${unknown.length > 1 ? 'is' : 'is not'} in the config's gateways`);
  // A firewall passes every alarmed gateway, IPv6 and VPN ones included: act on the ones we know.
  for (const name of unknown) deps.log('warn', `event names gateway ${plain(name)}, which is not in the config: skipped`, { action: 'skip', kind: 'none' });
  if (req.alarm !== undefined) deps.log('info', `dpinger alarm flag ${req.alarm} for ${known.join(', ')} (the flag alone decides nothing)`);

  const stateFile = req.stateFile ?? config.stateFile;
  const signal = reloadSignal(config, req);
  if (req.duringReload && (!signal || signal.kind === 'marker'))
    throw badInput('--during-reload needs --after-reload-status or --after-filter-lock (a reload status or lock to see it end)');
  const since: Since = { ...(req.reload?.since ?? { ms: now(), precisionMs: 0 }), ...(req.duringReload ? { running: true } : {}) };
  const timeoutMs = config.ordering.reloadTimeoutSeconds * 1000;
  const all: EventResult = { decisions: [], outcomes: [], unknown };
  // The reload that follows this event's verdict changes; later rounds (hold-down) reuse it.
  let reload: ReloadWaiter | undefined;
  const waiterFor = (changed: boolean, n: number): ReloadWaiter | undefined => {
    if (signal && changed && (!reload || n > 0))
      reload = onceWaiter(reloadWaiter(signal, n === 0 ? since : { ms: now(), precisionMs: 0 }, timeoutMs, { now, sleep, probeLock: deps.probeLock }));
    return reload;
  };

  /** One locked round: read memory and the firewall, decide, kill, remember. */
  const round = async (n: number): Promise<number | undefined> => {
    const unlock = req.dryRun ? undefined : await lockState(stateFile, { waitMs: deps.lockWaitMs ?? timeoutMs + 60_000, signal: req.signal, sleep: deps.sleep });
    try {
      const loaded = readState(stateFile, { moveCorrupt: !req.dryRun });
      if (loaded.corrupt) deps.log('warn', loaded.corrupt);
      const state = loaded.state;
      const seen = await observe(config, req, known, state, deps, n);
      // A role given on the command line gates kills even without a carp section in the config.
      const eff = req.carpRole ? { ...seen.config, carp: { ...seen.config.carp, role: req.carpRole } } : seen.config;
      const r = decide({ config: eff, events: seen.events, observed: seen.others, previous: state, now: now(), carp: await carpRoleOf(eff, req, deps) });
      if (!req.dryRun) saveState(stateFile, asPending(r));
      const outcomes = await runDecisions(r.decisions, {
        killer: deps.killer,
        log: deps.log,
        sleep: deps.sleep,
        signal: req.signal,
        secondPassMs: config.ordering.secondPassSeconds * 1000,
        waitForReload: waiterFor(verdictChanged(state, r.state, seen.events.map((e) => e.gateway)), n),
      });
      recordOutcomes(r.state, outcomes, deps.log);
      if (!req.dryRun) saveState(stateFile, r.state);
      all.decisions.push(...r.decisions);
      all.outcomes.push(...outcomes);
      pending = Object.entries(r.state.gateways).filter(([, m]) => m.pending).map(([g, m]) => `${g} ${m.pending}`);
      return r.retryAt;
    } finally {
      await unlock?.();
    }
  };

  let pending: string[] = [];
  let retryAt = await round(0);
  // Hold-down: hook processes are detached, so wait here and re-check rather than lose the action.
  for (let i = 1; retryAt !== undefined && !req.noWait && !req.dryRun && !req.signal?.aborted && i <= 20; i++) {
    await pause(retryAt - now(), req.signal, deps.sleep);
    if (req.signal?.aborted) {
      deps.log('warn', `stopped while waiting for the hold-down: ${pending.join(', ')} ${pending.length > 1 ? 'stay' : 'stays'} pending`);
      all.stopped = true;
      break;
    }
    retryAt = await round(i);
  }
  return all;
}
