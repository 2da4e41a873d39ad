/**
 * The watch daemon's loop: poll each gateway's dpinger socket, turn samples into statuses, feed every
 * change to decide(), and carry out the decisions one at a time. Memory starts empty, so a daemon
 * (re)start sees its first samples as a baseline, never as a recovery.
 */
import { probeCarpRole, ifconfigProbe } from './carp.js';
import type { PolicyConfig } from './config.js';
import { decide, type Decision } from './decide.js';
import type { EventDeps } from './event-runner.js';
import { runDecisions, type Outcome } from './execute.js';
import { waitForMarker } from './reload.js';
import { emptyState, type PolicyState } from './state.js';
import { classifySample, readDpingerSocket, sameStatus, type GatewayStatus } from './status.js';

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

  /** Stops polling and waits for a kill in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private async sample(): Promise<Map<string, GatewayStatus>> {
    const read = this.deps.readSocket ?? ((p: string) => readDpingerSocket(p));
    const out = new Map<string, GatewayStatus>();
    await Promise.all(
      this.config.gateways
        .filter((g) => g.socket)
        .map(async (g) => {
          try {
            out.set(g.name, classifySample(await read(g.socket!), g.thresholds, this.config.product));
            if (this.unreadable.delete(g.name)) this.deps.log('info', `watch: dpinger socket for ${g.name} answers again`, { gateway: g.name });
          } catch (e) {
            // A monitor that does not answer says nothing about the gateway: keep the last status.
            if (!this.unreadable.has(g.name)) this.deps.log('warn', `watch: ${(e as Error).message}; keeping the last status of ${g.name}`, { gateway: g.name });
            this.unreadable.add(g.name);
          }
        }),
    );
    return out;
  }

  /** One poll: every changed gateway is one event; an expired hold-down is a re-check. */
  async tick(): Promise<void> {
    const now = this.deps.now ?? Date.now;
    const samples = await this.sample();
    const observed = Object.fromEntries(samples);
    const carp = this.config.carp ? await probeCarpRole(this.deps.carpProbe ?? ifconfigProbe, this.config.carp) : undefined;
    const batches: Decision[][] = [];
    for (const [name, status] of samples) {
      const mem = this.state.gateways[name];
      if (mem && sameStatus(mem.status, status)) continue;
      const r = decide({ config: this.config, event: { gateway: name, status }, observed, previous: this.state, now: now(), carp });
      this.state = r.state;
      this.retryAt = r.retryAt;
      batches.push(r.decisions);
    }
    if (this.retryAt !== undefined && now() >= this.retryAt) {
      const r = decide({ config: this.config, observed, previous: this.state, now: now(), carp });
      this.state = r.state;
      this.retryAt = r.retryAt;
      batches.push(r.decisions);
    }
    for (const decisions of batches) {
      if (!decisions.length) continue;
      const marker = this.config.ordering.reloadMarker;
      const outcomes = await runDecisions(decisions, {
        killer: this.deps.killer,
        log: this.deps.log,
        sleep: this.deps.sleep,
        secondPassMs: this.config.ordering.secondPassSeconds * 1000,
        waitForReload: marker ? waitForMarker(marker, now(), this.config.ordering.reloadTimeoutSeconds * 1000, { now, sleep: this.deps.sleep }) : undefined,
      });
      this.deps.onDecisions?.(decisions, outcomes);
    }
  }
}
