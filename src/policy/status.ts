/**
 * Gateway status: from dpinger samples (with each product's threshold semantics), from the status
 * words hook scripts pass, and how a group's trigger level reads it.
 */
import { connect } from 'node:net';
import { badInput } from '../errors.js';
import type { GatewayConfig, Product, Thresholds, Trigger } from './config.js';

export type GatewayState = 'up' | 'down' | 'force_down' | 'disabled' | 'unknown';

/** `delay`/`loss` are the warnings group triggers read; `state` is the hard verdict. */
export interface GatewayStatus {
  state: GatewayState;
  delay: boolean;
  loss: boolean;
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
 * pfSense: "Member Down" means 100% loss; the loss/latency triggers read the high thresholds.
 * OPNsense (and generic): above a high threshold is `down`, above a low one is `delay`/`loss`
 * (dpinger_status() in dpinger.inc), which is how a latency-only breach becomes a down (#9789).
 */
export function classifySample(s: DpingerSample, t: Thresholds, product: Product): GatewayStatus {
  const latencyMs = s.latencyUs / 1000;
  if (product === 'pfsense') {
    return {
      state: s.lossPercent >= 100 ? 'down' : 'up',
      delay: latencyMs > t.latencyHighMs,
      loss: s.lossPercent > t.lossHighPercent,
    };
  }
  const down = latencyMs > t.latencyHighMs || s.lossPercent > t.lossHighPercent;
  return { state: down ? 'down' : 'up', delay: !down && latencyMs > t.latencyLowMs, loss: !down && s.lossPercent > t.lossLowPercent };
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
  if (s.state !== 'up') return s.state;
  if (s.delay && s.loss) return 'up (delay+loss)';
  if (s.delay) return 'up (delay)';
  if (s.loss) return 'up (loss)';
  return 'up';
}

export function sameStatus(a: GatewayStatus, b: GatewayStatus): boolean {
  return a.state === b.state && a.delay === b.delay && a.loss === b.loss;
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

/** Configuration overrides observation: a disabled or forced-down gateway is that, whatever dpinger says. */
export function effectiveStatus(gw: GatewayConfig, observed: GatewayStatus | undefined): GatewayStatus {
  if (gw.disabled) return { state: 'disabled', delay: false, loss: false };
  if (gw.forceDown) return { state: 'force_down', delay: false, loss: false };
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
    sock.on('data', (d: string) => (text += d));
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
