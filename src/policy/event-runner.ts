/**
 * One gateway event end to end, as `statekill event` and hook scripts run it: statuses in, decide,
 * remember, wait for the reload, kill, and stay around while a hold-down defers something.
 */
import { badInput } from '../errors.js';
import { probeCarpRole, ifconfigProbe, type CarpProbe, type CarpRole } from './carp.js';
import { findGateway, type PolicyConfig } from './config.js';
import { decide, type Decision } from './decide.js';
import { runDecisions, type Outcome, type PolicyLog, type StateKiller } from './execute.js';
import { waitForMarker } from './reload.js';
import { loadState, saveState } from './state.js';
import { classifySample, parseStatusWord, readDpingerSocket, type DpingerSample, type GatewayStatus } from './status.js';

export interface EventRequest {
  gateways: string[];
  /** A status word, or 'auto' (from `sample`/`alarm`, else the gateway's dpinger socket). */
  status: string;
  sample?: DpingerSample;
  /** dpinger's alarm flag: 1 means its own -D/-L threshold was crossed. */
  alarm?: 0 | 1;
  /** Known statuses of other gateways (NAME -> word). */
  others?: Record<string, string>;
  stateFile?: string;
  /** Reload marker wait: overrides config.ordering.reloadMarker; `since` defaults to now. */
  reloadMarker?: string;
  reloadSinceMs?: number;
  /** Do not stay around for hold-down re-checks. */
  noWait?: boolean;
}

export interface EventDeps {
  killer: StateKiller;
  log: PolicyLog;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  carpProbe?: CarpProbe;
  readSocket?: (path: string) => Promise<DpingerSample>;
}

export interface EventResult {
  decisions: Decision[];
  outcomes: Outcome[];
}

function statusFromRequest(config: PolicyConfig, gw: string, req: EventRequest, sample: DpingerSample | undefined): GatewayStatus {
  if (req.status !== 'auto') return parseStatusWord(req.status);
  const g = findGateway(config, gw)!;
  if (req.alarm === 1) return { state: 'down', delay: false, loss: false };
  if (!sample) throw badInput(`event: --status auto for gateway ${gw} needs --sample or a monitor.socket in the config`);
  return classifySample(sample, g.thresholds, config.product);
}

async function observeOthers(config: PolicyConfig, req: EventRequest, read: (p: string) => Promise<DpingerSample>, skip: Set<string>) {
  const observed: Record<string, GatewayStatus> = {};
  await Promise.all(
    config.gateways
      .filter((g) => g.socket && !skip.has(g.name))
      .map(async (g) => {
        try {
          observed[g.name] = classifySample(await read(g.socket!), g.thresholds, config.product);
        } catch {
          /* no monitor answer: fall back to what we remember */
        }
      }),
  );
  for (const [name, word] of Object.entries(req.others ?? {})) {
    if (!findGateway(config, name)) throw badInput(`event: --gateway-status names unknown gateway '${name}'`);
    observed[name] = parseStatusWord(word);
  }
  return observed;
}

export async function runEvent(config: PolicyConfig, req: EventRequest, deps: EventDeps): Promise<EventResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const read = deps.readSocket ?? ((p: string) => readDpingerSocket(p));
  for (const gw of req.gateways) if (!findGateway(config, gw)) throw badInput(`event: unknown gateway '${gw}' (not in the config's gateways)`);
  if (req.status !== 'auto') parseStatusWord(req.status); // bad words are bad input before anything else

  const stateFile = req.stateFile ?? config.stateFile;
  const marker = req.reloadMarker ?? config.ordering.reloadMarker;
  const startedAt = req.reloadSinceMs ?? now();
  const carp = async (): Promise<CarpRole | undefined> => (config.carp ? probeCarpRole(deps.carpProbe ?? ifconfigProbe, config.carp) : undefined);
  const run = (decisions: Decision[]) =>
    runDecisions(decisions, {
      killer: deps.killer,
      log: deps.log,
      sleep,
      secondPassMs: config.ordering.secondPassSeconds * 1000,
      waitForReload: marker ? waitForMarker(marker, startedAt, config.ordering.reloadTimeoutSeconds * 1000, { now, sleep }) : undefined,
    });

  const all: EventResult = { decisions: [], outcomes: [] };
  const eventGws = new Set(req.gateways);
  let retryAt: number | undefined;
  for (const gw of req.gateways) {
    const g = findGateway(config, gw)!;
    let sample = req.sample;
    if (req.status === 'auto' && !sample && req.alarm !== 1 && g.socket) sample = await read(g.socket);
    const status = statusFromRequest(config, gw, req, sample);
    const observed = await observeOthers(config, req, read, eventGws);
    const r = decide({ config, event: { gateway: gw, status }, observed, previous: loadState(stateFile), now: now(), carp: await carp() });
    saveState(stateFile, r.state);
    all.decisions.push(...r.decisions);
    all.outcomes.push(...(await run(r.decisions)));
    if (r.retryAt !== undefined && (retryAt === undefined || r.retryAt < retryAt)) retryAt = r.retryAt;
  }

  // Hold-down: hook processes are detached, so wait here and re-check rather than lose the action.
  for (let i = 0; retryAt !== undefined && !req.noWait && i < 20; i++) {
    await sleep(Math.max(0, retryAt - now()));
    const observed = await observeOthers(config, req, read, new Set());
    const r = decide({ config, observed, previous: loadState(stateFile), now: now(), carp: await carp() });
    saveState(stateFile, r.state);
    all.decisions.push(...r.decisions);
    all.outcomes.push(...(await run(r.decisions)));
    retryAt = r.retryAt;
  }
  return all;
}
