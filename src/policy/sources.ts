/**
 * Gateway statuses and addresses as the firewall itself sees them, read once per event for every
 * configured gateway (so one event naming several gateways is decided on fresh statuses of all).
 *
 * - `opnsense`: `pluginctl -r return_gateways_status` (dpinger.inc dpinger_status(): status word,
 *   current gateway address, priority of every gateway). Where it has no sample yet (`loss: "~"`,
 *   dpinger restarting), the gateway watcher's cached word (`pluginctl -r return_gateways_watcher`)
 *   is used, as OPNsense's own return_gateways_status() does (legacy_bindings.inc).
 * - `dpinger`: the status sockets, found by the gateway's name (OPNsense `dpinger_NAME.sock`,
 *   pfSense `dpinger_NAME~SRCIP~MONITORIP.sock`, gwlb.inc start_dpinger()), each sample classified
 *   by product (status.ts). A dynamic gateway's address is the firewall's router file
 *   (`/tmp/<if>_router`, `_routerv6`, or the `.last` copy once the link is gone: gwlb.inc
 *   get_interface_gateway_from_router_file(), get_interface_gateway_last()).
 *
 * A gateway without a usable sample is "no data" (`status` undefined, `noData` says why): the caller
 * keeps its last known status. Nothing here throws for a firewall that does not answer.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAddr } from '../engine/addr.js';
import type { Cidr } from '../engine/types.js';
import type { Family, GatewayConfig, PolicyConfig } from './config.js';
import { classifySample, parseStatusWord, readDpingerSocket, UNMONITORED, type DpingerSample, type GatewayStatus } from './status.js';

export interface Observation {
  /** Undefined: no data; keep the last known status. */
  status?: GatewayStatus;
  noData?: string;
  /** Current next-hop address(es), for `dynamic` families. */
  addresses?: Cidr[];
  /** The WAN's own address (pfSense: the dpinger socket's source address), for a `dynamic` natAddress. */
  natAddresses?: Cidr[];
  /** OPNsense priority, when the config does not set one. */
  priority?: number;
  /** Things the admin should know (OPNsense's own state killing is on, ...). */
  warnings: string[];
}

export interface SourceDeps {
  /** Runs a command, resolves with stdout (tests pass a fake). */
  exec?: (file: string, args: string[], timeoutMs: number) => Promise<string>;
  readSocket?: (path: string) => Promise<DpingerSample>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export function execText(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

/** A host address from the firewall's output (`fe80::1%igb0` keeps its scope), or undefined. */
export function hostCidr(text: unknown, scopeIf: string): Cidr | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const [addr, scope] = text.trim().split('%');
  const a = parseAddr(addr);
  if (!a) return undefined;
  const c: Cidr = { af: a.af, addr, prefix: a.af === 'inet' ? 32 : 128 };
  if (a.af === 'inet6' && /^fe[89ab][0-9a-f]:/i.test(addr)) c.ifname = scope || scopeIf;
  return c;
}

function onlyFamilies(cidrs: (Cidr | undefined)[], families: Family[]): Cidr[] {
  return cidrs.filter((c): c is Cidr => c !== undefined && families.includes(c.af));
}

/** Every configured gateway's observation. Unmonitored, disabled and forced-down ones are not read. */
export async function observeGateways(config: PolicyConfig, deps: SourceDeps = {}): Promise<Map<string, Observation>> {
  const out = new Map<string, Observation>();
  if (config.status.source === 'opnsense') await fromOpnsense(config, deps, out);
  else await fromDpinger(config, deps, out);
  for (const gw of config.gateways) {
    const o = out.get(gw.name) ?? { warnings: [] };
    if (gw.dynamic.length && !o.addresses?.length) {
      const found = routerFile(config, gw);
      if (found.length) o.addresses = found;
    }
    out.set(gw.name, o);
  }
  return out;
}

interface OpnStatus {
  status?: unknown;
  loss?: unknown;
  gateway?: unknown;
  priority?: unknown;
  ipprotocol?: unknown;
  monitor_killstates?: unknown;
  monitor_killstates_priority?: unknown;
}

/** plugins_run() answers `{"dpinger": {NAME: {...}}}`; accept the bare `{NAME: {...}}` too. */
function byName(json: unknown): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return {};
  const j = json as Record<string, unknown>;
  const inner = j.dpinger;
  return inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : j;
}

async function pluginctl(config: PolicyConfig, deps: SourceDeps, hook: string): Promise<Record<string, unknown>> {
  const text = await (deps.exec ?? execText)(config.status.pluginctl, ['-r', hook], 15_000);
  // pluginctl prints nothing when no plugin answered (e.g. no gateway is monitored).
  return text.trim() === '' ? {} : byName(JSON.parse(text));
}

async function fromOpnsense(config: PolicyConfig, deps: SourceDeps, out: Map<string, Observation>): Promise<void> {
  let status: Record<string, unknown>;
  try {
    status = await pluginctl(config, deps, 'return_gateways_status');
  } catch (e) {
    for (const gw of config.gateways) out.set(gw.name, { noData: `pluginctl -r return_gateways_status failed: ${oneLine((e as Error).message)}`, warnings: [] });
    return;
  }
  let watcher: Record<string, unknown> | undefined;
  for (const gw of config.gateways) {
    const o: Observation = { warnings: [] };
    out.set(gw.name, o);
    const raw = status[gw.name];
    if (raw === null || typeof raw !== 'object') {
      o.noData = `OPNsense reports no status for gateway ${gw.name}`;
      continue;
    }
    const e = raw as OpnStatus;
    if (e.monitor_killstates === '1' || e.monitor_killstates === 1)
      o.warnings.push(`OPNsense's own "Failover States" is on for gateway ${gw.name}: OPNsense kills too (turn it off, see README "Coexistence")`);
    if (e.monitor_killstates_priority === '1' || e.monitor_killstates_priority === 1)
      o.warnings.push(`OPNsense's own "Failback States" is on for gateway ${gw.name}: OPNsense kills too (turn it off, see README "Coexistence")`);
    const prio = Number(e.priority);
    if (Number.isInteger(prio) && prio >= 1 && prio <= 255) o.priority = prio;
    const addr = hostCidr(e.gateway, gw.interface);
    if (addr) o.addresses = onlyFamilies([addr], gw.dynamic);
    let word = typeof e.status === 'string' ? e.status : '';
    // No sample yet: only "none" (monitoring off) and "force_down" are real; "down" is the default
    // dpinger_status() starts from. The watcher's cache has the status it last alarmed on.
    if (e.loss === '~' && word !== 'none' && word !== 'force_down') {
      if (!watcher) {
        try {
          watcher = await pluginctl(config, deps, 'return_gateways_watcher');
        } catch {
          watcher = {};
        }
      }
      const cached = watcher[gw.name];
      if (typeof cached !== 'string') {
        o.noData = `OPNsense has no monitor sample for gateway ${gw.name} yet (dpinger restarting) and no cached status`;
        continue;
      }
      word = cached;
    }
    try {
      // Unmonitored is OPNsense's own "none" without a sample, not a cached "none" of a restarted monitor.
      o.status = e.status === 'none' && e.loss === '~' ? { ...UNMONITORED } : { ...parseStatusWord(word), ...(word === 'none' ? {} : { label: word }) };
    } catch {
      o.noData = `OPNsense reports status '${oneLine(word)}' for gateway ${gw.name}, which statekill does not know`;
    }
  }
}

/** pfSense: `dpinger_NAME~SRCIP~MONITORIP.sock`; OPNsense: `dpinger_NAME.sock`. Newest first. */
export function findSockets(dir: string, name: string): { path: string; srcip?: string }[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const found: { path: string; srcip?: string; mtime: number }[] = [];
  for (const f of entries) {
    let srcip: string | undefined;
    if (f === `dpinger_${name}.sock`) srcip = undefined;
    else if (f.startsWith(`dpinger_${name}~`) && f.endsWith('.sock')) {
      const parts = f.slice(`dpinger_${name}~`.length, -'.sock'.length).split('~');
      if (parts.length !== 2) continue;
      srcip = parts[0];
    } else continue;
    try {
      found.push({ path: join(dir, f), srcip, mtime: statSync(join(dir, f)).mtimeMs });
    } catch {
      /* vanished */
    }
  }
  return found.sort((a, b) => b.mtime - a.mtime);
}

async function fromDpinger(config: PolicyConfig, deps: SourceDeps, out: Map<string, Observation>): Promise<void> {
  const read = deps.readSocket ?? ((p: string) => readDpingerSocket(p));
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = deps.now ?? Date.now;
  const waitMs = config.status.noDataWaitSeconds * 1000;
  await Promise.all(
    config.gateways.map(async (gw) => {
      const o: Observation = { warnings: [] };
      out.set(gw.name, o);
      if (gw.unmonitored || gw.disabled || gw.forceDown) return;
      const start = now();
      // A restarted dpinger answers 0 0 0 and a socket being recreated refuses: wait a little for
      // real data, as pfSense's get_dpinger_status() does, then report "no data".
      for (;;) {
        const candidates = gw.socket ? [{ path: gw.socket, srcip: undefined }] : findSockets(config.status.dpingerDir, gw.name);
        let why = candidates.length ? '' : `no dpinger socket for gateway ${gw.name} in ${config.status.dpingerDir}`;
        for (const c of candidates) {
          try {
            const sample = await read(c.path);
            const status = classifySample(sample, gw.thresholds, config.product);
            if (!status) {
              why = `dpinger for gateway ${gw.name} has no data yet (${sample.latencyUs} ${sample.stddevUs} ${sample.lossPercent}: just (re)started)`;
              continue;
            }
            o.status = status;
            const nat = hostCidr(c.srcip, gw.interface);
            if (nat && gw.dynamicNat.length) o.natAddresses = onlyFamilies([nat], gw.dynamicNat);
            return;
          } catch (e) {
            why = oneLine((e as Error).message);
          }
        }
        if (now() - start >= waitMs) {
          o.noData = why;
          return;
        }
        await sleep(250);
      }
    }),
  );
}

/** The firewall's current (or, once the link is gone, last) router address of a dynamic gateway. */
function routerFile(config: PolicyConfig, gw: GatewayConfig): Cidr[] {
  const out: Cidr[] = [];
  for (const family of gw.dynamic) {
    const base = join(config.status.routerDir, `${gw.interface}_router${family === 'inet6' ? 'v6' : ''}`);
    for (const file of [base, `${base}.last`]) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      const c = hostCidr(text.trim(), gw.interface);
      if (c && c.af === family) {
        out.push(c);
        break;
      }
    }
  }
  return out;
}

/** Control characters (a hostile gateway name, a newline in a message) never reach a log line raw. */
export function oneLine(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
