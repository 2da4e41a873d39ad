/**
 * `statekill watch` as a child process: fake dpinger sockets, pino JSON logs, SIGHUP reload (a bad
 * config keeps the old one), SIGTERM and SIGINT end it cleanly with exit 0.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;

interface LogLine { level: number; msg: string; [k: string]: unknown }

class Daemon {
  lines: LogLine[] = [];
  private buf = '';
  private waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  exit: Promise<{ code: number | null; signal: string | null }>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(this.buf.slice(0, i)) as LogLine;
        this.buf = this.buf.slice(i + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      }
    });
    this.exit = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  }
  /** Resolves with the first log line from index `from` on (past or future) whose msg matches. */
  waitFor(re: RegExp, from = 0, timeoutMs = 10_000): Promise<LogLine> {
    const seen = this.lines.slice(from).find((l) => re.test(l.msg));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no log line ${re} within ${timeoutMs} ms; got:\n${this.lines.map((l) => l.msg).join('\n')}`)), timeoutMs);
      this.waiters.push({ test: (l) => re.test(l.msg), resolve: (l) => (clearTimeout(t), resolve(l)) });
    });
  }
}

let dir: string;
const servers: Server[] = [];
const samples: Record<string, string> = { WAN1: '10000 500 0', WAN2: '12000 700 0' };

function configText(failback: 'keep' | 'kill', extra = '') {
  return `product: opnsense
status: { source: dpinger }
holdDownSeconds: 0
watch: { intervalMs: 100 }
${extra}
gateways:
  - { name: WAN1, interface: igb0, address: 198.51.100.1, monitor: { socket: ${join(dir, 'wan1.sock')} } }
  - { name: WAN2, interface: igb1, address: 203.0.113.1, monitor: { socket: ${join(dir, 'wan2.sock')} } }
groups:
  - name: FAILOVER
    failback: ${failback}
    failbackRules: [10]
    members: [ { gateway: WAN1, tier: 1 }, { gateway: WAN2, tier: 2 } ]
`;
}

function start(config = join(dir, 'policy.yaml'), extra: string[] = []): Daemon {
  const child = spawn(process.execPath, [join(ROOT, 'bin/statekill.js'), 'watch', '--json-log', '--config', config, '--sim', join(ROOT, 'test/fixtures/policy/dual-wan.jsonl'), '--dry-run', ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Daemon(child);
}

beforeAll(async () => {
  // The child runs the built CLI (bin/statekill.js -> dist/), as `npm test`'s pretest builds it.
  // Type errors elsewhere in a work-in-progress tree do not stop tsc from emitting.
  spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'ignore' });
  dir = mkdtempSync(join(tmpdir(), 'sk-watch-'));
  for (const gw of ['WAN1', 'WAN2']) {
    const s = createServer((c) => c.end(`${gw} ${samples[gw]}\n`));
    await new Promise<void>((r) => s.listen(join(dir, `${gw.toLowerCase()}.sock`), r));
    servers.push(s);
  }
  writeFileSync(join(dir, 'policy.yaml'), configText('keep'));
}, 120_000);

afterAll(() => {
  for (const s of servers) s.close();
});

describe('statekill watch', () => {
  it('baselines, decides on a change, reloads on SIGHUP (keeping the old config when the new one is bad), ends on SIGTERM', async () => {
    const audit = join(dir, 'watch-audit.jsonl');
    const d = start(undefined, ['--audit', audit]);
    try {
      expect((await d.waitFor(/^watch: started$/)).gateways).toEqual(['WAN1', 'WAN2']);
      // Daemon start: both up on the first sample, which is not a recovery.
      await d.waitFor(/^no state kill for gateway WAN1: first status seen is up, which is not a recovery$/);
      await d.waitFor(/^no state kill for gateway WAN2: first status seen is up, which is not a recovery$/);

      samples.WAN1 = '0 0 100';
      const kill = await d.waitFor(/^killing states of gateway WAN1/);
      expect(kill).toMatchObject({ level: 30, gateway: 'WAN1', kind: 'failover', action: 'kill',
        msg: 'killing states of gateway WAN1: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)' });
      const report = await d.waitFor(/^WAN1: (would kill|state kill failed)/);
      expect(report).toMatchObject({ level: 30, msg: 'WAN1: would kill 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)' });
      // Counts in the log line, the states in the audit file.
      expect(JSON.stringify(report).length).toBeLessThan(2000);
      expect(readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((l) => `${l.gateway} ${l.id.slice(-2)} ${l.result}`))
        .toEqual(['WAN1 01 would kill', 'WAN1 02 would kill', 'WAN1 09 would kill', 'WAN1 0c would kill']);

      // A broken config on SIGHUP: logged, the old one keeps running.
      writeFileSync(join(dir, 'policy.yaml'), configText('keep').replace('tier: 2', 'tier: 0'));
      d.child.kill('SIGHUP');
      const bad = await d.waitFor(/^watch: config reload failed/);
      expect(bad).toMatchObject({ level: 50, msg: 'watch: config reload failed, keeping the previous config: config: groups[0].members[1].tier: expected a positive integer' });
      samples.WAN1 = '10000 500 0';
      expect((await d.waitFor(/^failback in group FAILOVER/)).msg).toBe(
        'failback in group FAILOVER: WAN1 (tier 1) is up again; keeping states on lower tiers WAN2 (tier 2) (failback: keep)');

      // A good config on SIGHUP applies from the next poll.
      writeFileSync(join(dir, 'policy.yaml'), configText('kill'));
      d.child.kill('SIGHUP');
      await d.waitFor(/^watch: config reloaded$/);
      let mark = d.lines.length;
      samples.WAN1 = '0 0 100';
      await d.waitFor(/^killing states of gateway WAN1/, mark);
      mark = d.lines.length;
      samples.WAN1 = '10000 500 0';
      const fb = await d.waitFor(/^failback in group FAILOVER: WAN1 \(tier 1\) is up again; killing states the group's rules sent to lower tiers WAN2 \(tier 2\) \(rules 10\)/, mark);
      mark = d.lines.indexOf(fb);
      // Dry run on a fresh copy of the table each time: the group rule's GW2 state and its pair would go.
      expect((await d.waitFor(/^WAN1: would kill/, mark)).msg).toBe('WAN1: would kill 2 states (selected 1, paired 1, ambiguous 0, already gone 0, failed 0)');

      d.child.kill('SIGTERM');
      expect(await d.exit).toEqual({ code: 0, signal: null });
      expect(d.lines.slice(-2).map((l) => l.msg)).toEqual(['watch: SIGTERM, stopping', 'watch: stopped']);
    } finally {
      d.child.kill('SIGKILL');
      samples.WAN1 = '10000 500 0';
      writeFileSync(join(dir, 'policy.yaml'), configText('keep'));
    }
  }, 60_000);

  it('ends cleanly on SIGINT', async () => {
    const d = start();
    try {
      await d.waitFor(/^no state kill for gateway WAN2: first status seen/);
      d.child.kill('SIGINT');
      expect(await d.exit).toEqual({ code: 0, signal: null });
      expect(d.lines.slice(-2).map((l) => l.msg)).toEqual(['watch: SIGINT, stopping', 'watch: stopped']);
    } finally {
      d.child.kill('SIGKILL');
    }
  }, 30_000);

  it('a SIGHUP right after start does not end it (#10 item 20)', async () => {
    // A preload marks the moment node starts running JavaScript; modules then load for ~1 s, during
    // which the old daemon had no SIGHUP handler yet and the signal ended it.
    const started = join(dir, 'js-started');
    const preload = join(dir, 'preload.mjs');
    writeFileSync(preload, `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(started)}, '1');\n`);
    const child = spawn(process.execPath, ['--import', preload, join(ROOT, 'bin/statekill.js'), 'watch', '--json-log', '--config', join(dir, 'policy.yaml'),
      '--sim', join(ROOT, 'test/fixtures/policy/dual-wan.jsonl'), '--dry-run'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const d = new Daemon(child);
    try {
      while (!existsSync(started) && child.exitCode === null) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGHUP');
      expect(d.lines).toEqual([]); // still loading: nothing logged yet
      await d.waitFor(/^no state kill for gateway WAN2: first status seen/);
      expect(child.exitCode).toBe(null);
      child.kill('SIGTERM');
      expect(await d.exit).toEqual({ code: 0, signal: null });
    } finally {
      child.kill('SIGKILL');
      rmSync(started, { force: true });
    }
  }, 30_000);

  it('SIGTERM while a kill waits for the ruleset reload: nothing is killed later (#10 item 20)', async () => {
    const marker = join(dir, 'rules.debug');
    writeFileSync(marker, 'old\n');
    writeFileSync(join(dir, 'waiting.yaml'), configText('keep', `ordering: { reloadMarker: ${marker}, reloadTimeoutSeconds: 20 }\n`));
    const d = start(join(dir, 'waiting.yaml'));
    try {
      await d.waitFor(/^no state kill for gateway WAN2: first status seen/);
      samples.WAN1 = '0 0 100';
      await d.waitFor(/^killing states of gateway WAN1/);
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      d.child.kill('SIGTERM');
      expect(await d.exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - t0).toBeLessThan(5000);
      const msgs = d.lines.map((l) => l.msg);
      expect(msgs).toContain('stopped while waiting for the ruleset reload: WAN1 not killed');
      expect(msgs.filter((m) => /^WAN1: (would kill|killed)/.test(m))).toEqual([]);
    } finally {
      d.child.kill('SIGKILL');
      samples.WAN1 = '10000 500 0';
    }
  }, 30_000);

  it('a bad config at start is bad input: exit 2, nothing started', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'gateways: []\n');
    const child = spawn(process.execPath, [join(ROOT, 'bin/statekill.js'), 'watch', '--config', join(dir, 'bad.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (b) => (err += b));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(2);
    expect(err).toBe('statekill: config: gateways: expected at least one gateway\n');
  }, 30_000);
});

describe('Watcher (in process)', () => {
  it('a kill retried at the next poll does not wait for another ruleset reload: the one after the change counts', async () => {
    const { parseConfig } = await import('../src/policy/config.js');
    const { Watcher } = await import('../src/policy/watcher.js');
    const wdir = mkdtempSync(join(tmpdir(), 'sk-watcher-'));
    const marker = join(wdir, 'rules.debug');
    writeFileSync(marker, 'old\n');
    const config = parseConfig({
      product: 'opnsense', status: { source: 'dpinger' }, holdDownSeconds: 0, watch: { intervalMs: 1000 },
      ordering: { reloadMarker: marker, reloadTimeoutSeconds: 30 },
      gateways: [
        { name: 'WAN1', interface: 'igb0', address: '198.51.100.1', monitor: { socket: 'wan1' } },
        { name: 'WAN2', interface: 'igb1', address: '203.0.113.1', monitor: { socket: 'wan2' } },
      ],
      groups: [{ name: 'G', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }],
    });
    let clock = Date.now(); // compared with the marker's real mtime
    const sample: Record<string, { latencyUs: number; stddevUs: number; lossPercent: number }> = {
      wan1: { latencyUs: 10_000, stddevUs: 500, lossPercent: 0 }, wan2: { latencyUs: 12_000, stddevUs: 700, lossPercent: 0 } };
    let waited = 0;
    let kills = 0;
    const lines: string[] = [];
    const w = new Watcher(config, {
      now: () => clock,
      // The reload's wait polls through this: time passes, and the first poll sees the ruleset rewritten.
      sleep: async (ms) => {
        if (waited === 0) writeFileSync(marker, 'new\n');
        waited += ms;
        clock += ms;
      },
      readSocket: async (p) => sample[p],
      log: (_l, m) => void lines.push(m),
      killer: async () => {
        if (++kills === 1) throw new Error('EBUSY (the first try fails)');
        return { scanned: 10, selected: 4, paired: 0, ambiguous: 0, killed: 4, alreadyGone: 0, failed: 0, dryRun: false, phasesMs: {} } as never;
      },
    });
    await w.tick(); // baseline
    sample.wan1 = { latencyUs: 0, stddevUs: 0, lossPercent: 100 };
    clock += 1000;
    await w.tick(); // WAN1 down: waits for the reload (seen), the kill fails and stays pending
    expect(lines.filter((l) => l.startsWith('ruleset reloaded'))).toHaveLength(1);
    expect(kills).toBe(1);
    const before = waited;
    clock += 1000;
    await w.tick(); // the retry: nothing changed, no new reload is coming
    expect(kills).toBe(2);
    expect(waited - before).toBeLessThan(1000);
    expect(lines.filter((l) => l.startsWith('no ruleset reload seen'))).toEqual([]);
    expect(lines.at(-1)).toBe('WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)');
  });
});
