/** Gateway status: dpinger samples under each product's thresholds, status words, triggers, the socket reader. */
import { createServer, type Server } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../src/policy/config.js';
import { classifySample, isDownUnder, parseDpingerLine, parseStatusWord, readDpingerSocket } from '../src/policy/status.js';

const T = DEFAULT_THRESHOLDS;
const sample = (latencyMs: number, lossPercent: number) => ({ latencyUs: latencyMs * 1000, stddevUs: 1000, lossPercent });

describe('dpinger samples', () => {
  it('OPNsense: a latency-only breach of the high threshold is down (the #9789 case); low breaches are warnings', () => {
    expect(classifySample(sample(600, 0), T, 'opnsense')).toEqual({ state: 'down', delay: false, loss: false });
    expect(classifySample(sample(20, 25), T, 'opnsense')).toEqual({ state: 'down', delay: false, loss: false });
    expect(classifySample(sample(300, 0), T, 'opnsense')).toEqual({ state: 'up', delay: true, loss: false });
    expect(classifySample(sample(20, 15), T, 'opnsense')).toEqual({ state: 'up', delay: false, loss: true });
    expect(classifySample(sample(500, 10), T, 'opnsense')).toEqual({ state: 'up', delay: true, loss: false }); // thresholds are strict
  });

  it('pfSense: gwlb.inc levels; high latency/loss are what the latency/loss triggers read; 100% loss is down', () => {
    expect(classifySample(sample(0, 100), T, 'pfsense')).toEqual({ state: 'down', delay: false, loss: true, label: 'Offline (100% loss)' });
    expect(classifySample(sample(600, 0), T, 'pfsense')).toEqual({ state: 'up', delay: true, loss: false, label: 'Offline (latency)' });
    expect(classifySample(sample(20, 25), T, 'pfsense')).toEqual({ state: 'up', delay: false, loss: true, label: 'Offline (packet loss)' });
    expect(classifySample(sample(300, 15), T, 'pfsense')).toEqual({ state: 'up', delay: false, loss: false, label: 'Online (latency)' });
    expect(classifySample(sample(20, 15), T, 'pfsense')).toEqual({ state: 'up', delay: false, loss: false, label: 'Online (packet loss)' });
    expect(classifySample(sample(20, 0), T, 'pfsense')).toEqual({ state: 'up', delay: false, loss: false, label: 'Online' });
  });

  it('a sample with zero stddev and zero loss (a freshly started dpinger: NAME 0 0 0) is no data, never up', () => {
    for (const p of ['pfsense', 'opnsense', 'generic'] as const) {
      expect(classifySample({ latencyUs: 0, stddevUs: 0, lossPercent: 0 }, T, p)).toBeUndefined();
      expect(classifySample({ latencyUs: 1200, stddevUs: 0, lossPercent: 0 }, T, p)).toBeUndefined();
    }
    expect(classifySample({ latencyUs: 0, stddevUs: 0, lossPercent: 100 }, T, 'opnsense')).toEqual({ state: 'down', delay: false, loss: false });
  });

  it('parses report lines with and without an identifier', () => {
    expect(parseDpingerLine('12345 678 0\n')).toEqual({ latencyUs: 12345, stddevUs: 678, lossPercent: 0 });
    expect(parseDpingerLine('WAN_DHCP 512000 3000 20')).toEqual({ identifier: 'WAN_DHCP', latencyUs: 512000, stddevUs: 3000, lossPercent: 20 });
    expect(parseDpingerLine('garbage')).toBeUndefined();
  });
});

describe('status words and triggers', () => {
  it('maps the words hooks pass', () => {
    expect(parseStatusWord('none')).toEqual({ state: 'up', delay: false, loss: false });
    expect(parseStatusWord('delay+loss')).toEqual({ state: 'up', delay: true, loss: true });
    expect(parseStatusWord('force_down')).toEqual({ state: 'force_down', delay: false, loss: false });
    expect(() => parseStatusWord('sideways')).toThrow("status: 'sideways' is not one of up, none, down, force_down, delay, loss, delay+loss, disabled, unknown");
  });

  it('honours trigger levels exactly', () => {
    const delay = parseStatusWord('delay');
    const loss = parseStatusWord('loss');
    expect([isDownUnder('down', delay), isDownUnder('downloss', delay), isDownUnder('downlatency', delay), isDownUnder('downlosslatency', delay)]).toEqual([false, false, true, true]);
    expect([isDownUnder('down', loss), isDownUnder('downloss', loss), isDownUnder('downlatency', loss), isDownUnder('downlosslatency', loss)]).toEqual([false, true, false, true]);
    for (const t of ['down', 'downloss', 'downlatency', 'downlosslatency'] as const) {
      expect(isDownUnder(t, parseStatusWord('down'))).toBe(true);
      expect(isDownUnder(t, parseStatusWord('up'))).toBe(false);
    }
  });
});

describe('dpinger status socket', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('reads the one line dpinger writes per connection', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sk-dp-')), 'dpinger.sock');
    server = createServer((c) => c.end('WAN1 4200 150 3\n'));
    await new Promise<void>((r) => server!.listen(path, r));
    expect(await readDpingerSocket(path)).toEqual({ identifier: 'WAN1', latencyUs: 4200, stddevUs: 150, lossPercent: 3 });
  });

  it('names the socket when nothing listens or the answer is not a report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-dp-'));
    await expect(readDpingerSocket(join(dir, 'none.sock'))).rejects.toThrow(/^dpinger socket .*none\.sock: /);
    const path = join(dir, 'bad.sock');
    server = createServer((c) => c.end('hello\n'));
    await new Promise<void>((r) => server!.listen(path, r));
    await expect(readDpingerSocket(path)).rejects.toThrow(`dpinger socket ${path}: cannot parse 'hello'`);
  });
});
