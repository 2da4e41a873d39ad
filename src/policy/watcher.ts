/**
 * The watch daemon's loop: read every gateway's status from the firewall (status sources), feed
 * every change to decide(), and carry out the decisions one batch at a time. Memory starts empty, so
 * a daemon (re)start sees its first statuses as a baseline, never as a recovery. A gateway without
 * data keeps its last status. stop() aborts a kill still waiting for the ruleset reload.
 */
import { probeCarpRole, ifconfigProbe, type CarpRole } from './carp.js';
import type { PolicyConfig } from './config.js';
import { decide, type Decision } from './decide.js';
import { applyDiscovered } from './effective.js';
import type { EventDeps } from './event-runner.js';
import { killIncomplete, runDecisions, type Outcome } from './execute.js';
import { onceWaiter, reloadWaiter, type ReloadWaiter } from './reload.js';
import { observeGateways } from './sources.js';
import { emptyState, verdictChanged, type PolicyState } from './state.js';
import { sameStatus, type GatewayStatus } from './status.js';

/** What an event needs, plus a listener for each round of decisions. */
export interface WatcherDeps extends EventDeps {
  onDecisions?: (decisions: Decision[], outcomes: Outcome[]) => void;
}

export class Watcher {
  private config: PolicyConfig;
  private state: PolicyState = emptyState();
  private retryAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private unreadable = new Set<string>();
  private abort = new AbortController();
  private wasMaster: boolean | undefined;
  /** The reload after the last verdict change; a retry or an ended hold-down reuses it. */
  private reload: ReloadWaiter | undefined;

  constructor(config: PolicyConfig, private readonly deps: WatcherDeps) {
    this.config = config;
  }

  /** A new config applies from the next poll; memory of gateways it still has is kept. */
  setConfig(config: PolicyConfig): void {
    this.config = config;
    const names = new Set(config.gateways.map((g) => g.name));
    for (const n of Object.keys(this.state.gateways)) if (!names.has(n)) delete this.state.gateways[n];
  }

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.tick().catch((e) => this.deps.log('error', `watch: ${(e as Error).message}`));
      await this.running;
      this.running = undefined;
      if (!this.stopped) this.timer = setTimeout(loop, this.config.watchIntervalMs);
    };
    void loop();
  }

  /** Stops polling; a kill waiting for the reload is abandoned, one already running finishes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private async sample(): Promise<{ statuses: Map<string, GatewayStatus>; config: PolicyConfig }> {
    const observations = await observeGateways({ ...this.config, status: { ...this.config.status, noDataWaitSeconds: 0 } }, this.deps);
    const statuses = new Map<string, GatewayStatus>();
    for (const [name, o] of observations) {
      if (o.status) {
        statuses.set(name, o.status);
        if (this.unreadable.delete(name)) this.deps.log('info', `watch: status of ${name} is readable again`, { gateway: name });
        continue;
      }
      const gw = this.config.gateways.find((g) => g.name === name);
      if (gw?.unmonitored || gw?.disabled || gw?.forceDown) continue;
      // No data says nothing about the gateway: keep the last status, say so once.
      if (!this.unreadable.has(name)) this.deps.log('warn', `watch: ${o.noData ?? 'no status'}; keeping the last status of ${name}`, { gateway: name });
      this.unreadable.add(name);
    }
    return { statuses, config: applyDiscovered(this.config, observations, this.state) };
  }

  private async carp(config: PolicyConfig): Promise<CarpRole | undefined> {
    if (config.carp?.role) return { master: config.carp.role === 'master', detail: `this node is CARP ${config.carp.role.toUpperCase()} (config carp.role)` };
    return config.carp ? probeCarpRole(this.deps.carpProbe ?? ifconfigProbe, config.carp) : undefined;
  }

  /** One poll: the changed gateways are one event; an expired hold-down or a CARP promotion is a re-check. */
  async tick(): Promise<void> {
    const now = this.deps.now ?? Date.now;
    const { statuses, config } = await this.sample();
    const observed = Object.fromEntries(statuses);
    const carp = await this.carp(config);
    const promoted = carp?.master === true && this.wasMaster === false;
    this.wasMaster = carp?.master;
    const events = [...statuses].filter(([name, s]) => !this.state.gateways[name] || !sameStatus(this.state.gateways[name].status, s)).map(([gateway, status]) => ({ gateway, status }));
    const due = this.retryAt !== undefined && now() >= this.retryAt;
    if (!events.length && !due && !promoted) return;
    if (promoted) this.deps.log('info', `watch: ${carp!.detail}; re-checking what a backup skipped`);
    const r = decide({ config, events, observed, previous: this.state, now: now(), carp });
    const changed = verdictChanged(this.state, r.state, events.map((e) => e.gateway));
    this.state = r.state;
    this.retryAt = r.retryAt;
    const s = this.config.ordering;
    const sig = s.filterLock ? { kind: 'filterLock' as const, file: s.filterLock } : s.reloadStatus ? { kind: 'reloadStatus' as const, file: s.reloadStatus } : s.reloadMarker ? { kind: 'marker' as const, file: s.reloadMarker } : undefined;
    if (changed)
      this.reload = sig ? onceWaiter(reloadWaiter(sig, { ms: now(), precisionMs: 0 }, s.reloadTimeoutSeconds * 1000, { now, sleep: this.deps.sleep, probeLock: this.deps.probeLock })) : undefined;
    if (!r.decisions.length) return;
    const outcomes = await runDecisions(r.decisions, {
      killer: this.deps.killer,
      log: this.deps.log,
      sleep: this.deps.sleep,
      signal: this.abort.signal,
      secondPassMs: s.secondPassSeconds * 1000,
      waitForReload: sig ? this.reload : undefined,
    });
    // A kill that did not complete stays pending and is retried at the next poll.
    for (const x of outcomes) {
      const mem = this.state.gateways[x.decision.gateway];
      if (!killIncomplete(x) || !mem) continue;
      if (x.decision.kind === 'failover') delete mem.killedAt;
      mem.pending = x.decision.kind === 'failback' ? 'failback' : 'failover';
      this.retryAt = now() + this.config.watchIntervalMs;
    }
    this.deps.onDecisions?.(r.decisions, outcomes);
  }
}
