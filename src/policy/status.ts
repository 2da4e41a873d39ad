/**
 * Gateway status: from dpinger samples (with each product's threshold semantics), from the status
 * words hook scripts pass, and how a group's trigger level reads it.
 */
import { connect } from 'node:net';
import { badInput } from '../errors.js';
import type { GatewayConfig, Product, Thresholds, Trigger } from './config.js';

export type GatewayState = 'up' | 'down' | 'force_down' | 'disabled' | 'unknown';

/**
 * `state` is the hard verdict; `delay`/`loss` say whether a latency/loss trigger takes the gateway
 * out of a group's pool. `label` is the product's own name for the status, for the log.
 */
export interface GatewayStatus {
  state: GatewayState;
  delay: boolean;
  loss: boolean;
  label?: string;
}

/** One dpinger report: `[identifier ]<avg latency us> <stddev us> <loss %>`. */
export interface DpingerSample {
  latencyUs: number;
  stddevUs: number;
  lossPercent: number;
  identifier?: string;
}

export const UP: GatewayStatus = Object.freeze({ state: 'up', delay: false, loss: false });
export const DOWN: GatewayStatus = Object.freeze({ state: 'down', delay: false, loss: false });
export const UNKNOWN: GatewayStatus = Object.freeze({ state: 'unknown', delay: false, loss: false });

/**
 * dpinger answers `NAME 0 0 0` until it has samples (right after a (re)start, e.g. by OPNsense's
 * monitor/20-recover). Both products treat a zero stddev with zero loss as "no data yet", never as
 * up: OPNsense dpinger_status() skips it (dpinger.inc), pfSense get_dpinger_status() retries (gwlb.inc).
 */
export function isNoData(s: DpingerSample): boolean {
  return s.stddevUs === 0 && s.lossPercent === 0;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * A sample as the product reads it; `undefined` when the sample carries no data (isNoData).
 *
 * pfSense (gwlb.inc get_dpinger_status, get_gateway_status, is_online_gateway_status): latency
 * above latencyhigh is "Offline (latency)", loss above losshigh "Offline (packet loss)"; a group's
 * trigger decides whether that takes the member out of the pool ("Member Down" keeps both, the
 * latency/loss triggers drop their own kind). The low thresholds are warnings no trigger reads.
 * One deliberate difference: 100% loss (dpinger reports a dead link as `0 0 100`) is a hard down.
 * pfSense's get_gwgroup_members_inner() drops such a member from every group whatever its trigger,
 * and a member that answers nothing is down under any reading of "Member Down".
 *
 * OPNsense and generic (dpinger.inc dpinger_status()): above a high threshold is `down` (so a
 * latency-only breach is a down, #9789); above a low one is `delay`/`loss`, which the latency/loss
 * triggers read (GatewayGroups.php gatewayIsUp()).
 */
export function classifySample(s: DpingerSample, t: Thresholds, product: Product): GatewayStatus | undefined {
  if (isNoData(s)) return undefined;
  if (product === 'pfsense') {
    const latencyMs = round(s.latencyUs / 1000, 3);
    if (latencyMs > t.latencyHighMs) return { state: 'up', delay: true, loss: false, label: 'Offline (latency)' };
    if (s.lossPercent >= 100) return { state: 'down', delay: false, loss: true, label: 'Offline (100% loss)' };
    if (s.lossPercent > t.lossHighPercent) return { state: 'up', delay: false, loss: true, label: 'Offline (packet loss)' };
    if (latencyMs > t.latencyLowMs) return { state: 'up', delay: false, loss: false, label: 'Online (latency)' };
    if (s.lossPercent > t.lossLowPercent) return { state: 'up', delay: false, loss: false, label: 'Online (packet loss)' };
    return { state: 'up', delay: false, loss: false, label: 'Online' };
  }
  const latencyMs = round(s.latencyUs / 1000, 1);
  if (latencyMs > t.latencyHighMs || s.lossPercent > t.lossHighPercent) return { state: 'down', delay: false, loss: false };
  return { state: 'up', delay: latencyMs > t.latencyLowMs, loss: s.lossPercent > t.lossLowPercent };
}

export const STATUS_WORDS = ['up', 'none', 'down', 'force_down', 'delay', 'loss', 'delay+loss', 'disabled', 'unknown'] as const;

/** The words hooks and `event --status` use (OPNsense's dpinger_status() strings plus up/disabled/unknown). */
export function parseStatusWord(word: string): GatewayStatus {
  switch (word) {
    case 'up':
    case 'none':
      return { ...UP };
    case 'down':
      return { ...DOWN };
    case 'force_down':
    case 'disabled':
    case 'unknown':
      return { state: word, delay: false, loss: false };
    case 'delay':
      return { state: 'up', delay: true, loss: false };
    case 'loss':
      return { state: 'up', delay: false, loss: true };
    case 'delay+loss':
      return { state: 'up', delay: true, loss: true };
  }
  throw badInput(`status: '${word}' is not one of ${STATUS_WORDS.join(', ')}`);
}

export function describeStatus(s: GatewayStatus): string {
  if (s.label) return s.label;
  if (s.state !== 'up') return s.state;
  if (s.delay && s.loss) return 'up (delay+loss)';
  if (s.delay) return 'up (delay)';
  if (s.loss) return 'up (loss)';
  return 'up';
}

export function sameStatus(a: GatewayStatus, b: GatewayStatus): boolean {
  return a.state === b.state && a.delay === b.delay && a.loss === b.loss && (a.label ?? '') === (b.label ?? '');
}

/** Whether a group with this trigger takes the member out of its pool. */
export function isDownUnder(trigger: Trigger, s: GatewayStatus): boolean {
  if (s.state !== 'up') return true;
  switch (trigger) {
    case 'down':
      return false;
    case 'downloss':
      return s.loss;
    case 'downlatency':
      return s.delay;
    case 'downlosslatency':
      return s.loss || s.delay;
  }
}

/** An unmonitored gateway counts as up in both products (pfSense "Online (unmonitored)", OPNsense "none"). */
export const UNMONITORED: GatewayStatus = Object.freeze({ state: 'up', delay: false, loss: false, label: 'up (unmonitored)' });

/**
 * Configuration overrides observation: a disabled or forced-down gateway is that, whatever dpinger
 * says; an unmonitored one is up.
 */
export function effectiveStatus(gw: GatewayConfig, observed: GatewayStatus | undefined): GatewayStatus {
  if (gw.disabled) return { state: 'disabled', delay: false, loss: false };
  if (gw.forceDown) return { state: 'force_down', delay: false, loss: false };
  if (gw.unmonitored && observed?.state !== 'force_down') return { ...UNMONITORED };
  return observed ?? { ...UNKNOWN };
}

export function parseDpingerLine(line: string): DpingerSample | undefined {
  const m = line.trim().match(/^(?:(.*\S)\s+)?(\d+)\s+(\d+)\s+(\d+)$/);
  if (!m) return undefined;
  const s: DpingerSample = { latencyUs: Number(m[2]), stddevUs: Number(m[3]), lossPercent: Number(m[4]) };
  if (m[1] !== undefined) s.identifier = m[1];
  return s;
}

/** dpinger answers each connection to its `-u` socket with one report line, then closes. */
export function readDpingerSocket(path: string, timeoutMs = 2000): Promise<DpingerSample> {
  return new Promise((resolve, reject) => {
    let text = '';
    const sock = connect(path);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`dpinger socket ${path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      text += d;
      // dpinger writes one short line; anything longer is not dpinger.
      if (text.length > 4096) sock.destroy(new Error('answer longer than a dpinger report'));
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`dpinger socket ${path}: ${e.message}`));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const line = text.split('\n').filter((l) => l.trim()).pop() ?? '';
      const s = parseDpingerLine(line);
      if (s) resolve(s);
      else reject(new Error(`dpinger socket ${path}: cannot parse '${line.trim()}'`));
    });
  });
}
