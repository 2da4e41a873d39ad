/**
 * Issue 11 end to end: `statekill event` driven by the firewalls' own output formats (recorded in
 * test/fixtures/policy/: `pluginctl -r return_gateways_status` JSON, dpinger socket reports, pfSense's
 * filter reload) on the simulated pf kernel (`--sim`), asserting the decision, its log line and the
 * exact states killed (from `--audit`). Plus the memory file (#10 items 11, 12, 21) and ordering.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './cli-capture.js';
import { parseConfig } from '../src/policy/config.js';
import { createSimKernel } from '../src/backends/sim.js';
import { plannedStates } from '../src/engine/plan.js';
import { openTable } from '../src/engine/table.js';
import { decodeState } from '../src/table/records.js';
import { engineKiller } from '../src/policy/engine-killer.js';
import { runEvent } from '../src/policy/event-runner.js';
import { lockState } from '../src/policy/state.js';

const FIX = (f: string) => new URL(`./fixtures/policy/${f}`, import.meta.url).pathname;
const DUAL = FIX('dual-wan.jsonl');
const GW1_STATES = ['01', '02', '09', '0c'];
const REPORTS = JSON.parse(readFileSync(FIX('dpinger-reports.json'), 'utf8')) as Record<string, string>;
const RELOAD = JSON.parse(readFileSync(FIX('pfsense-filter-reload.json'), 'utf8')) as { statusWhilePlugins: string; statusDone: string };

const cli = (args: string[]) => runCli(['event', ...args]);
const BIN = new URL('../bin/statekill.js', import.meta.url).pathname;

/** `statekill ARGS` as a child process, killed after 15 s (a hang must fail the test, not the run). */
function cliProcess(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 15_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: unknown }).code as number) ?? String((err as { signal?: unknown }).signal) : 0, stdout, stderr }));
  });
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A fake dpinger status socket answering `report()` on each connection (null: accept, never answer). */
async function dpinger(path: string, report: () => string | null): Promise<void> {
  const s = createServer((c) => {
    const r = report();
    if (r !== null) c.end(r);
  });
  await new Promise<void>((r) => s.listen(path, r));
  servers.push(s);
}

function workdir() {
  const dir = mkdtempSync(join(tmpdir(), 'sk-fw-'));
  const audit = join(dir, 'audit.jsonl');
  return {
    dir,
    state: join(dir, 'state.json'),
    audit,
    /** The last two hex digits of every state the audit says was killed, sorted. */
    killed: () => (existsSync(audit) ? readFileSync(audit, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; result: string }).filter((l) => l.result === 'killed').map((l) => l.id.slice(-2)).sort() : []),
    config(text: string) {
      writeFileSync(join(dir, 'c.yaml'), text);
      return join(dir, 'c.yaml');
    },
  };
}

/** OPNsense's pluginctl, answering from recorded JSON. */
function fakePluginctl(dir: string, status: string, watcher: string | null): string {
  const p = join(dir, 'pluginctl');
  writeFileSync(p, `#!/bin/sh\ncase "$2" in\nreturn_gateways_status) cat '${status}' ;;\nreturn_gateways_watcher) ${watcher ? `cat '${watcher}'` : 'exit 0'} ;;\nesac\n`);
  chmodSync(p, 0o755);
  return p;
}

const OPN_CONFIG = (pluginctl: string, extra = '') => `product: opnsense
status: { pluginctl: ${pluginctl} }
holdDownSeconds: 0
${extra}gateways:
  - { name: WAN1, interface: igb0, address: 198.51.100.1 }
  - { name: WAN2, interface: igb1, address: 203.0.113.1 }
groups:
  - { name: FAILOVER, members: [ { gateway: WAN1, tier: 1 }, { gateway: WAN2, tier: 2 } ] }
`;

describe('OPNsense: statuses from pluginctl -r return_gateways_status', () => {
  it('20-recover restarted dpinger (loss "~"): the watcher\'s cached "down" is used, never a wrong "up"; GW1 states die', async () => {
    const w = workdir();
    const cfg = w.config(OPN_CONFIG(fakePluginctl(w.dir, FIX('opnsense-gateways-restart.json'), FIX('opnsense-gateways-watcher.json'))));
    const r = await cli(['--gateway', 'WAN1', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('killing states of gateway WAN1: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)\n' +
      'WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)\n');
    // WAN6_TUNNEL has OPNsense's own killing on, but statekill does not manage it: not its business.
    expect(r.err).toBe('');
    expect(w.killed()).toEqual(GW1_STATES);
  });

  it('a monitored gateway without a sample whose cached status is "none" is up, not "unmonitored"', async () => {
    const w = workdir();
    const restart = JSON.parse(readFileSync(FIX('opnsense-gateways-restart.json'), 'utf8'));
    // WAN2's dpinger was restarted too: no sample yet, the default "down"; the watcher last saw it up ("none").
    restart.dpinger.WAN2 = { ...restart.dpinger.WAN2, status: 'down', stddev: '~', delay: '~', loss: '~' };
    writeFileSync(join(w.dir, 'status.json'), JSON.stringify(restart));
    const cfg = w.config(OPN_CONFIG(fakePluginctl(w.dir, join(w.dir, 'status.json'), FIX('opnsense-gateways-watcher.json'))));
    const r = await cli(['--gateway', 'WAN1', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait']);
    expect(r.out.split('\n')[0]).toBe('killing states of gateway WAN1: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)');
  });

  it('with no sample and no cached status, nothing is decided (no data is not up), and it says so', async () => {
    const w = workdir();
    const cfg = w.config(OPN_CONFIG(fakePluginctl(w.dir, FIX('opnsense-gateways-restart.json'), null)));
    const r = await cli(['--gateway', 'WAN1', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait']);
    expect(r).toEqual({ code: 0, out: '', err: 'warn: no state kill for gateway WAN1: no status data (OPNsense has no monitor sample for gateway WAN1 yet (dpinger restarting) and no cached status) and none is remembered\n' });
    expect(w.killed()).toEqual([]);
  });

  it('a mixed event (an IPv6 tunnel gateway statekill does not manage): the unknown one is logged and skipped, WAN1 is acted on, exit 0', async () => {
    const w = workdir();
    const cfg = w.config(OPN_CONFIG(fakePluginctl(w.dir, FIX('opnsense-gateways-restart.json'), FIX('opnsense-gateways-watcher.json'))));
    const r = await cli(['--gateway', 'WAN6_TUNNEL,WAN1', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait']);
    expect(r.code).toBe(0);
    expect(r.err).toBe("warn: event names gateway 'WAN6_TUNNEL', which is not in the config: skipped\n");
    expect(r.out.split('\n')[0]).toBe('killing states of gateway WAN1: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)');
    expect(w.killed()).toEqual(GW1_STATES);
  });

  it('DHCP WAN: the current gateway address and priority come from the status output; OPNsense\'s own killing is flagged', async () => {
    const w = workdir();
    const pluginctl = fakePluginctl(w.dir, FIX('opnsense-gateways-dhcp.json'), null);
    const cfg = w.config(`product: opnsense
status: { pluginctl: ${pluginctl} }
holdDownSeconds: 0
gateways:
  - { name: WAN_DHCP, interface: igb0, address: dynamic }
  - { name: WAN2, interface: igb1, address: 203.0.113.1 }
groups:
  - { name: FAILOVER, members: [ { gateway: WAN_DHCP, tier: 1 }, { gateway: WAN2, tier: 2 } ] }
`);
    const r = await cli(['--gateway', 'WAN_DHCP', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.decisions[0]).toMatchObject({ action: 'kill', reason: 'killing states of gateway WAN_DHCP: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: delay)',
      selections: [{ name: 'gateway WAN_DHCP', gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }] });
    expect(r.err).toContain('warn: OPNsense\'s own "Failover States" is on for gateway WAN_DHCP: OPNsense kills too (turn it off, see README "Coexistence")\n');
    expect(w.killed()).toEqual(GW1_STATES);
    // Remembered: a later event without an address (lease gone) still knows where its states went.
    expect(JSON.parse(readFileSync(w.state, 'utf8')).discovered).toEqual({ WAN_DHCP: { addresses: ['198.51.100.1'], natAddresses: [] } });
  });

  it('several gateways in one event are decided on fresh statuses of all of them, whatever the order', async () => {
    const w = workdir();
    const cfg = w.config(OPN_CONFIG(fakePluginctl(w.dir, FIX('opnsense-gateways-restart.json'), FIX('opnsense-gateways-watcher.json'))));
    const a = await cli(['--gateway', 'WAN1,WAN2', '--status', 'down', '--config', cfg, '--sim', DUAL, '--state', join(w.dir, 'a.json'), '--no-wait']);
    const b = await cli(['--gateway', 'WAN2,WAN1', '--status', 'down', '--config', cfg, '--sim', DUAL, '--state', join(w.dir, 'b.json'), '--no-wait']);
    const lines = (o: string) => o.trim().split('\n').sort();
    expect(lines(a.out)).toEqual([
      'skipping state kill for gateway WAN1: no viable failover target (WAN2: down)',
      'skipping state kill for gateway WAN2: no viable failover target (WAN1: down)',
    ]);
    expect(lines(b.out)).toEqual(lines(a.out));
  });
});

const PF_CONFIG = (dir: string, extra = '', gateways = '  - { name: WAN1, interface: igb0, address: 198.51.100.1 }\n  - { name: WAN2, interface: igb1, address: 203.0.113.1 }\n') => `product: pfsense
status: { dpingerDir: ${dir}, routerDir: ${dir}, noDataWaitSeconds: 0 }
holdDownSeconds: 0
${extra}gateways:
${gateways}groups:
  - { name: FAILOVER, members: [ { gateway: WAN1, tier: 1 }, { gateway: WAN2, tier: 2 } ] }
`;

describe('pfSense: dpinger sockets found by name, samples classified as gwlb.inc does', () => {
  it('a latency alarm under "Member Down" kills nothing (the alarm flag decides nothing); 100% loss kills', async () => {
    const w = workdir();
    let wan1 = REPORTS.healthy;
    await dpinger(join(w.dir, 'dpinger_WAN1~198.51.100.2~8.8.8.8.sock'), () => wan1);
    await dpinger(join(w.dir, 'dpinger_WAN2~203.0.113.2~8.8.4.4.sock'), () => REPORTS.backupHealthy);
    const cfg = w.config(PF_CONFIG(w.dir));
    const base = ['--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait'];
    // The post-reload plugin runs `event --all`: a first look is a baseline.
    expect((await cli(['--all', ...base])).out).toBe('no state kill for gateway WAN1: first status seen is Online, which is not a recovery\n' +
      'no state kill for gateway WAN2: first status seen is Online, which is not a recovery\n');
    wan1 = REPORTS.latencyAlarm;
    expect((await cli(['--all', ...base])).out).toBe('no state kill for gateway WAN1: Offline (latency) is not down under group FAILOVER (trigger down)\n');
    // The same through the alarm arguments dpinger gives (alarm 1): still nothing.
    const alarm = await cli(['--gateway', 'WAN1', '--alarm', '1', '--sample', '612345 30120 0', ...base]);
    expect(alarm.out).toBe('dpinger alarm flag 1 for WAN1 (the flag alone decides nothing)\nno state kill for gateway WAN1: Offline (latency) is not down under group FAILOVER (trigger down)\n');
    expect(w.killed()).toEqual([]);
    wan1 = REPORTS.dead;
    expect((await cli(['--all', ...base])).out).toBe('killing states of gateway WAN1: Offline (100% loss) under group FAILOVER (trigger down); failover target WAN2 (WAN2: Online)\n' +
      'WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)\n');
    expect(w.killed()).toEqual(GW1_STATES);
  });

  it('a restarted dpinger (0 0 0) or a socket that never answers is "no data": the last status is kept, no stack trace', async () => {
    const w = workdir();
    let wan1: string | null = REPORTS.dead;
    await dpinger(join(w.dir, 'dpinger_WAN1~198.51.100.2~8.8.8.8.sock'), () => wan1);
    await dpinger(join(w.dir, 'dpinger_WAN2~203.0.113.2~8.8.4.4.sock'), () => REPORTS.backupHealthy);
    const cfg = w.config(PF_CONFIG(w.dir));
    const base = ['--gateway', 'WAN1', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait'];
    expect((await cli(base)).code).toBe(0);
    expect(w.killed()).toEqual(GW1_STATES);
    wan1 = REPORTS.started;
    expect(await cli(base)).toEqual({ code: 0, out: '',
      err: 'warn: no state kill for gateway WAN1: no status data (dpinger for gateway WAN1 has no data yet (0 0 0: just (re)started)); keeping its last known status Offline (100% loss)\n' });
    wan1 = null; // accepts, never answers (#10 item 21)
    const silent = await cli(base);
    expect(silent.code).toBe(0);
    expect(silent.err).toMatch(/^warn: no state kill for gateway WAN1: no status data \(dpinger socket .*dpinger_WAN1~198\.51\.100\.2~8\.8\.8\.8\.sock: no answer within 2000 ms\); keeping its last known status Offline \(100% loss\)\n$/);
  }, 20_000);

  it('DHCP WAN with a changed address: the gateway from /tmp/<if>_router, the NAT address from the socket name', async () => {
    const w = workdir();
    await dpinger(join(w.dir, 'dpinger_WAN1~198.51.100.2~8.8.8.8.sock'), () => REPORTS.dead);
    await dpinger(join(w.dir, 'dpinger_WAN2~203.0.113.2~8.8.4.4.sock'), () => REPORTS.backupHealthy);
    writeFileSync(join(w.dir, 'igb0_router'), '198.51.100.1\n');
    // The previous lease: remembered, superseded by what the firewall says now.
    writeFileSync(w.state, JSON.stringify({ gateways: {}, discovered: { WAN1: { addresses: ['198.51.100.77'], natAddresses: ['198.51.100.78'] } } }));
    const cfg = w.config(PF_CONFIG(w.dir, '', '  - { name: WAN1, interface: igb0, address: dynamic, natAddress: dynamic }\n  - { name: WAN2, interface: igb1, address: 203.0.113.1 }\n'));
    const r = await cli(['--gateway', 'WAN1', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).decisions[0].selections).toEqual([
      { name: 'gateway WAN1', gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] },
      { name: 'gateway WAN1 NAT address (default-routed)', natAddrs: [{ af: 'inet', addr: '198.51.100.2', prefix: 32 }], defaultRouted: true },
    ]);
    expect(w.killed()).toEqual(GW1_STATES);
  });

  it('an unmonitored backup ("Online (unmonitored)") counts as up: a viable target', async () => {
    const w = workdir();
    await dpinger(join(w.dir, 'dpinger_WAN1~198.51.100.2~8.8.8.8.sock'), () => REPORTS.dead);
    const cfg = w.config(PF_CONFIG(w.dir, '', '  - { name: WAN1, interface: igb0, address: 198.51.100.1 }\n  - { name: WAN2, interface: igb1, address: 203.0.113.1, unmonitored: true }\n'));
    const r = await cli(['--gateway', 'WAN1', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait']);
    expect(r.out.split('\n')[0]).toBe('killing states of gateway WAN1: Offline (100% loss) under group FAILOVER (trigger down); failover target WAN2 (WAN2: up (unmonitored))');
    expect(w.killed()).toEqual(GW1_STATES);
  });

  // The engine reads the rules' labels from the (simulated) kernel and kills by them, pairing as usual.
  // pfsense-labels.jsonl: the old rule (110, gw=2:FAILOVER) is still loaded. pfsense-labels-reloaded.jsonl:
  // as the post-load plugin sees it, the group rule 10 now says gw=1:FAILOVER, and the state it created
  // while tier 2 was active shows rule 10 (states export only their rule's number).
  it.each([
    ['the lower tier\'s label is loaded', 'pfsense-labels.jsonl'],
    ['after the recovery reload, the group rule says gw=1', 'pfsense-labels-reloaded.jsonl'],
  ])('failback by the group\'s rule labels (%s): only the group rule\'s states on the lower tier, never pinned, port-forward, IPsec or probe states', async (_what, fixture) => {
    const sim = createSimKernel({ file: FIX(fixture) });
    const killed: string[][] = [];
    const killer = engineKiller({ sim }, {
      onPlan: (plan) => void killed.push([...plannedStates(plan)].filter((x) => x.reason !== 'ambiguous').map((x) => x.id.slice(-2)).sort()),
    });
    const config = parseConfig({ product: 'pfsense', holdDownSeconds: 0, gateways: [
      { name: 'WAN1', interface: 'igb0', address: '198.51.100.1' }, { name: 'WAN2', interface: 'igb1', address: '203.0.113.1' }],
    groups: [{ name: 'FAILOVER', failback: 'kill', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }] });
    const state = join(workdir().dir, 'state.json');
    const log: string[] = [];
    const ev = (status: string) => runEvent(config, { gateways: ['WAN1'], status, others: { WAN2: 'up' }, stateFile: state, noWait: true }, { killer, log: (_l, m) => void log.push(m), now: () => Date.UTC(2026, 10, 23) });
    await ev('down');
    await ev('up');
    expect(log[2]).toBe("failback in group FAILOVER: WAN1 (tier 1) is up again; killing states the group's rules sent to lower tiers WAN2 (tier 2) (labels gw=2:FAILOVER)");
    // 01/02: the failover kill (routed to WAN1). 03: the group rule's state from while tier 2 was active; its NAT partner 04 goes with it (paired).
    expect(killed).toEqual([['01', '02'], ['03', '04']]);
    // Everything else is still there: the pinned flow, the port-forward, IPsec and the probe.
    const t = await openTable({ sim });
    const snap = await t.snapshot();
    await t.close();
    const left = Array.from({ length: snap.count }, (_, i) => decodeState(snap.bytes, i, snap.layout).id.slice(-2)).sort();
    expect(left).toEqual(['05', '06', '07', '08', '0a', '0b']);
  });
});

describe('two gateways on one WAN sharing a NAT address (#10 item 5)', () => {
  it('failing one kills its routed states and default-routed NAT states, never the other gateway\'s', async () => {
    const w = workdir();
    const cfg = w.config(`holdDownSeconds: 0
gateways:
  - { name: GW1a, interface: igb0, address: 198.51.100.1, natAddress: 198.51.100.2 }
  - { name: GW1b, interface: igb0, address: 198.51.100.254, natAddress: 198.51.100.2 }
  - { name: WAN2, interface: igb1, address: 203.0.113.1 }
groups:
  - { name: G, members: [ { gateway: GW1a, tier: 1 }, { gateway: GW1b, tier: 1 }, { gateway: WAN2, tier: 2 } ] }
`);
    const r = await cli(['--gateway', 'GW1a', '--status', 'down', '--gateway-status', 'GW1b=up', '--gateway-status', 'WAN2=up', '--config', cfg,
      '--sim', FIX('shared-nat.jsonl'), '--state', w.state, '--audit', w.audit, '--no-wait']);
    expect(r.out).toBe('killing states of gateway GW1a: down under group G (trigger down); failover target GW1b, WAN2 (GW1b: up, WAN2: up)\n' +
      'GW1a: killed 4 states (selected 3, paired 1, ambiguous 0, already gone 0, failed 0)\n');
    // 05/06 routed to GW1a, 04 default-routed NAT + its LAN partner 03; 01/02 (GW1b, same NAT address) live.
    expect(w.killed()).toEqual(['03', '04', '05', '06']);
  });
});

describe('the memory file', () => {
  const DUAL_CFG = () => {
    const w = workdir();
    return { w, cfg: w.config('holdDownSeconds: 0\ngateways:\n  - { name: WAN1, interface: igb0, address: 198.51.100.1 }\n  - { name: WAN2, interface: igb1, address: 203.0.113.1 }\ngroups:\n  - { name: G, members: [ { gateway: WAN1, tier: 1 }, { gateway: WAN2, tier: 2 } ] }\n') };
  };

  it('--dry-run never writes it, so the real event afterwards still kills (#10 item 12)', async () => {
    const { w, cfg } = DUAL_CFG();
    const args = ['--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait'];
    const dry = await cli([...args, '--dry-run']);
    expect(dry.out.split('\n')[1]).toBe('WAN1: would kill 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)');
    expect(existsSync(w.state)).toBe(false);
    expect(readFileSync(w.audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l).result)).toEqual(['would kill', 'would kill', 'would kill', 'would kill']);
    expect((await cli(args)).out.split('\n')[1]).toBe('WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)');
  });

  it('a failed kill is not remembered as done: the re-delivered event retries it (#10 item 11)', async () => {
    const { w, cfg } = DUAL_CFG();
    const args = ['--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', cfg, '--state', w.state, '--no-wait'];
    const failed = await cli([...args, '--device', '/nonexistent/pf']);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain('warn: WAN1: the failover kill did not complete; it stays pending and the next event for this firewall retries it\n');
    expect(JSON.parse(readFileSync(w.state, 'utf8')).gateways.WAN1).toMatchObject({ failed: true, pending: 'failover' });
    const retry = await cli([...args, '--sim', DUAL, '--audit', w.audit]);
    expect(retry.out).toBe('killing states of gateway WAN1: down under group G (trigger down); failover target WAN2 (WAN2: up)\n' +
      'WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)\n');
    expect(w.killed()).toEqual(GW1_STATES);
    expect(JSON.parse(readFileSync(w.state, 'utf8')).gateways.WAN1.pending).toBeUndefined();
  });

  it('a state file that is a device or a FIFO, or whose directory cannot exist, is refused (exit 2): never renamed, replaced or waited on', async () => {
    const { w, cfg } = DUAL_CFG();
    // `--state /dev/null` once renamed the null device to /dev/null.corrupt and put a regular file in its place.
    const dev = join(w.dir, 'null');
    execFileSync('mknod', [dev, 'c', '1', '3']);
    const fifo = join(w.dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const args = (state: string, ...more: string[]) => ['event', '--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', cfg,
      '--sim', DUAL, '--state', state, '--audit', w.audit, '--no-wait', ...more];
    for (const [state, kind] of [[dev, 'a character device'], [fifo, 'a FIFO']]) {
      for (const more of [[], ['--dry-run']]) {
        const r = await cliProcess(args(state, ...more));
        expect(r).toEqual({ code: 2, stdout: '', stderr: `statekill: state file ${state} is ${kind}: the policy memory must be a regular file\n` });
      }
      expect(existsSync(`${state}.corrupt`)).toBe(false);
      expect(existsSync(`${state}.lock`)).toBe(false);
    }
    expect(statSync(dev).isCharacterDevice()).toBe(true);
    expect(statSync(fifo).isFIFO()).toBe(true);
    // Node's recursive mkdir loops forever where mkdir says ENOENT under an existing parent (/proc).
    const proc = await cliProcess(args('/proc/statekill-test/state.json'));
    expect(proc).toEqual({ code: 2, stdout: '', stderr: 'statekill: state file /proc/statekill-test/state.json: cannot create directory /proc/statekill-test: ENOENT\n' });
    expect(w.killed()).toEqual([]);
  }, 30_000);

  it.each(['1e400', '{"gateways": []}', '{"gateways": {"WAN1": {"status": "down"}}}', '{"gateways": {}, "lastSeen": 7}', '{"gatew'])(
    'a corrupt state file (%s) is a fresh start with a warning, the bad file kept aside (#10 item 21)', async (text) => {
      const { w, cfg } = DUAL_CFG();
      writeFileSync(w.state, text);
      const r = await cli(['--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--no-wait']);
      expect(r.code).toBe(0);
      expect(r.err).toBe(`warn: state file ${w.state} is not a statekill policy state (${text.length} bytes); starting with empty memory; kept as ${w.state}.corrupt\n`);
      expect(readFileSync(`${w.state}.corrupt`, 'utf8')).toBe(text);
      expect(r.out.split('\n')[0]).toBe('killing states of gateway WAN1: down under group G (trigger down); failover target WAN2 (WAN2: up)');
    });

  it('a kill skipped on a CARP backup is remembered; promoted to master, `event --all` (the carp hook) kills what is still due', async () => {
    const { w, cfg } = DUAL_CFG();
    const args = ['--gateway-status', 'WAN2=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait'];
    const backup = await cli(['--gateway', 'WAN1', '--status', 'down', '--carp-role', 'backup', ...args]);
    expect(backup.out).toBe('skipping state kill for gateway WAN1: this node is CARP BACKUP (--carp-role) (pfsync would carry the deletes to the master)\n');
    expect(JSON.parse(readFileSync(w.state, 'utf8')).gateways.WAN1).toMatchObject({ pending: 'failover', carpSkipped: true });
    // The status source has nothing for WAN1 (no socket): its remembered down stands.
    const master = await cli(['--all', '--carp-role', 'master', ...args]);
    expect(master.out).toBe('no state kill for gateway WAN2: first status seen is up, which is not a recovery\n' +
      'killing states of gateway WAN1: down under group G (trigger down); failover target WAN2 (WAN2: up)\n' +
      'WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)\n');
    expect(w.killed()).toEqual(GW1_STATES);
  });

  it('concurrent events serialise on the lock: one waits while another holds it, and no memory is lost', async () => {
    const { w, cfg } = DUAL_CFG();
    const unlock = await lockState(w.state, { waitMs: 1000 });
    let done = false;
    const held = cli(['--gateway', 'WAN2', '--status', 'down', '--gateway-status', 'WAN1=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--no-wait']).then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 400));
    expect(done).toBe(false);
    expect(existsSync(w.state)).toBe(false);
    await unlock();
    expect((await held).code).toBe(0);
    // pfSense runs one alarm script per gateway at once: 4 processes, every gateway remembered.
    const names = ['A', 'B', 'C', 'D'];
    const cfg4 = w.config(`holdDownSeconds: 0\ngateways:\n${names.map((n, i) => `  - { name: ${n}, interface: igb${i}, address: 192.0.2.${i + 1} }\n`).join('')}`);
    const state4 = join(w.dir, 'state4.json');
    const bin = new URL('../bin/statekill.js', import.meta.url).pathname;
    await Promise.all(names.map((n) => new Promise<number | null>((resolve) => {
      const c = spawn(process.execPath, [bin, 'event', '--gateway', n, '--status', 'up', '--config', cfg4, '--state', state4, '--sim', DUAL, '--no-wait'], { stdio: 'ignore' });
      c.on('exit', resolve);
    })));
    expect(Object.keys(JSON.parse(readFileSync(state4, 'utf8')).gateways).sort()).toEqual(names);
  }, 30_000);
});

describe('ordering on the firewall\'s own reload signal', () => {
  const base = (w: ReturnType<typeof workdir>, cfg: string) => ['--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait'];
  const cfgText = 'holdDownSeconds: 0\nordering: { reloadTimeoutSeconds: 20 }\ngateways:\n  - { name: WAN1, interface: igb0, address: 198.51.100.1 }\n  - { name: WAN2, interface: igb1, address: 203.0.113.1 }\ngroups:\n  - { name: G, members: [ { gateway: WAN1, tier: 1 }, { gateway: WAN2, tier: 2 } ] }\n';

  it('OPNsense: waits while the reload holds its flock on rules.debug, kills once it is released', async () => {
    const w = workdir();
    const cfg = w.config(cfgText);
    const rules = join(w.dir, 'rules.debug');
    writeFileSync(rules, 'old\n');
    // filter_configure_sync(): LOCK_EX on rules.debug for the whole reload (emulated with flock(1)).
    const holder = spawn('flock', ['-x', rules, 'sh', '-c', `sleep 0.3; echo new > '${rules}'; sleep 1`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    const r = await cli([...base(w, cfg), '--after-filter-lock', rules, '--reload-since', String(Math.floor(Date.now() / 1000))]);
    expect(Date.now() - t0).toBeGreaterThan(900);
    expect(r.out.split('\n').slice(1, 3)).toEqual([`ruleset reloaded (filter lock on ${rules} released)`, 'WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)']);
    holder.kill();
  }, 20_000);

  it('pfSense: waits until filter_reload_status says Done', async () => {
    const w = workdir();
    const cfg = w.config(cfgText);
    const status = join(w.dir, 'filter_reload_status');
    writeFileSync(status, RELOAD.statusWhilePlugins);
    setTimeout(() => writeFileSync(status, RELOAD.statusDone), 600);
    const t0 = Date.now();
    const r = await cli([...base(w, cfg), '--after-reload-status', status, '--reload-since', String(Math.floor(Date.now() / 1000))]);
    expect(Date.now() - t0).toBeGreaterThan(500);
    expect(r.out.split('\n')[1]).toBe(`ruleset reloaded (${status} says Done)`);
    expect(w.killed()).toEqual(GW1_STATES);
  }, 20_000);

  it('an old "Done" from before the event does not count; the timeout kills anyway and says so', async () => {
    const w = workdir();
    const cfg = w.config(cfgText.replace('reloadTimeoutSeconds: 20', 'reloadTimeoutSeconds: 1'));
    const status = join(w.dir, 'filter_reload_status');
    writeFileSync(status, RELOAD.statusDone);
    const r = await cli([...base(w, cfg), '--after-reload-status', status, '--reload-since', String(Date.now() / 1000 + 5)]);
    expect(r.out.split('\n')[1]).toBe(`no ruleset reload seen within 1 s (${status}); killing anyway`);
    expect(w.killed()).toEqual(GW1_STATES);
  }, 20_000);

  it('pfSense plugin: "Done" is written right after the plugin returns, before statekill has started; --during-reload counts it at once', async () => {
    const w = workdir();
    const cfg = w.config(cfgText);
    const status = join(w.dir, 'filter_reload_status');
    // filter_configure_sync(): "Running plugins (pf)", run_plugins() (the hook: `date +%s`, daemon -f),
    // then "Plugins completed." and "Done" within milliseconds (filter.inc), long before node is up.
    writeFileSync(status, RELOAD.statusWhilePlugins);
    const since = String(Math.floor(Date.now() / 1000));
    writeFileSync(status, RELOAD.statusDone);
    const t0 = Date.now();
    const r = await cli([...base(w, cfg), '--after-reload-status', status, '--reload-since', since, '--during-reload']);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.out.split('\n')[1]).toBe(`ruleset reloaded (${status} says Done)`);
    expect(w.killed()).toEqual(GW1_STATES);
    // --during-reload says the reload was running; a marker file says nothing about that.
    const bad = await cli([...base(w, cfg), '--after-reload', status, '--during-reload']);
    expect(bad).toMatchObject({ code: 2, err: 'statekill: --during-reload needs --after-reload-status or --after-filter-lock (a reload status or lock to see it end)\n' });
  }, 20_000);

  it('a failback deferred by hold-down does not wait for another reload: the one that followed the recovery counts', async () => {
    const w = workdir();
    const cfg = w.config(cfgText.replace('holdDownSeconds: 0', 'holdDownSeconds: 2').replace('members:', 'failback: kill, failbackRules: [10], members:'));
    const status = join(w.dir, 'filter_reload_status');
    const args = ['--gateway', 'WAN1', '--gateway-status', 'WAN2=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit];
    expect((await cli([...args, '--status', 'down', '--no-wait'])).code).toBe(0);
    writeFileSync(status, RELOAD.statusWhilePlugins);
    const since = (Date.now() / 1000).toFixed(3);
    setTimeout(() => writeFileSync(status, RELOAD.statusDone), 300);
    const t0 = Date.now();
    const r = await cli([...args, '--status', 'up', '--after-reload-status', status, '--reload-since', since]);
    expect(r.out.split('\n')).toEqual([
      'deferring failback for gateway WAN1: up for 0 s, hold-down 2 s',
      "failback in group G: WAN1 (tier 1) is up again; killing states the group's rules sent to lower tiers WAN2 (tier 2) (rules 10)",
      `ruleset reloaded (${status} says Done)`,
      'WAN1: killed 2 states (selected 1, paired 1, ambiguous 0, already gone 0, failed 0)',
      '',
    ]);
    expect(Date.now() - t0).toBeLessThan(8000);
  }, 30_000);

  it('a re-check with no status change (the carp hook\'s `event --all` on MASTER) kills what is due without waiting for a reload', async () => {
    const w = workdir();
    const status = join(w.dir, 'filter_reload_status');
    writeFileSync(status, RELOAD.statusDone);
    const cfg = w.config(cfgText.replace('reloadTimeoutSeconds: 20', `reloadTimeoutSeconds: 20, reloadStatus: ${status}`));
    const args = ['--gateway-status', 'WAN2=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait'];
    // A backup skipped the kill; now it is master and nothing else changed: no reload is coming.
    const backup = await cli(['--gateway', 'WAN1', '--status', 'down', '--carp-role', 'backup', ...args]);
    expect(backup.out).toBe('skipping state kill for gateway WAN1: this node is CARP BACKUP (--carp-role) (pfsync would carry the deletes to the master)\n');
    const t0 = Date.now();
    const master = await cli(['--all', '--carp-role', 'master', ...args]);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(master.out).toBe('no state kill for gateway WAN2: first status seen is up, which is not a recovery\n' +
      'killing states of gateway WAN1: down under group G (trigger down); failover target WAN2 (WAN2: up)\n' +
      'WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)\n');
  }, 40_000);
});

describe('logs', () => {
  it('--syslog sends each line through logger(1) with the configured facility and tag; --json carries counts, not per-state lists', async () => {
    const w = workdir();
    const bin = join(w.dir, 'bin');
    const logged = join(w.dir, 'syslog');
    writeFileSync(join(w.dir, 'logger'), `#!/bin/sh\nprintf '%s|' "$@" >> '${logged}'\ncat >> '${logged}'\n`);
    chmodSync(join(w.dir, 'logger'), 0o755);
    void bin;
    const cfg = w.config('log: { facility: local4, tag: sk-test }\nholdDownSeconds: 0\ngateways:\n  - { name: WAN1, interface: igb0, address: 198.51.100.1 }\n  - { name: WAN2, interface: igb1, address: 203.0.113.1 }\ngroups:\n  - { name: G, members: [ { gateway: WAN1, tier: 1 }, { gateway: WAN2, tier: 2 } ] }\n');
    const path = process.env.PATH;
    process.env.PATH = `${w.dir}:${path}`;
    try {
      const r = await cli(['--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--no-wait', '--syslog', '--json']);
      expect(r.code).toBe(0);
      expect(r.out.length).toBeLessThan(2000);
      expect(JSON.parse(r.out).outcomes[0].reports[0]).not.toHaveProperty('results');
    } finally {
      process.env.PATH = path;
    }
    expect(readFileSync(logged, 'utf8').split('\n').filter(Boolean).sort()).toEqual([
      '-t|sk-test|-p|local4.info|WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)',
      '-t|sk-test|-p|local4.info|killing states of gateway WAN1: down under group G (trigger down); failover target WAN2 (WAN2: up)',
    ]);
  });

  it('with --syslog, an event that cannot run at all (a broken config, a refused state file) says why in syslog, not only on a stderr the hook discards', async () => {
    // The hooks run `daemon -f statekill event ... --syslog`: stderr goes to /dev/null.
    const w = workdir();
    const logged = join(w.dir, 'syslog');
    writeFileSync(join(w.dir, 'logger'), `#!/bin/sh\nprintf '%s|' "$@" >> '${logged}'\ncat >> '${logged}'\n`);
    chmodSync(join(w.dir, 'logger'), 0o755);
    const broken = w.config('gateways:\n  - { name: WAN1, interface: igb0 }\n');
    const good = join(w.dir, 'good.yaml');
    writeFileSync(good, 'log: { facility: local4, tag: sk-test }\ngateways:\n  - { name: WAN1, interface: igb0, address: 198.51.100.1 }\n');
    const path = process.env.PATH;
    process.env.PATH = `${w.dir}:${path}`;
    try {
      const r = await cli(['--gateway', 'WAN1', '--config', broken, '--sim', DUAL, '--state', w.state, '--no-wait', '--syslog']);
      expect(r).toEqual({ code: 2, out: '', err: 'statekill: config: gateways[0].address: expected an address or {inet, inet6}\n' });
      const dirState = await cli(['--gateway', 'WAN1', '--status', 'down', '--config', good, '--sim', DUAL, '--state', w.dir, '--no-wait', '--syslog']);
      expect(dirState.code).toBe(2);
      // Without --syslog (nor log.syslog) nothing goes there.
      expect((await cli(['--gateway', 'WAN1', '--config', broken, '--sim', DUAL, '--state', w.state, '--no-wait'])).code).toBe(2);
      // The daemon, started with its stderr going nowhere, too.
      expect((await cliProcess(['watch', '--config', broken, '--sim', DUAL, '--syslog', '--syslog-tag', 'sk-watch'])).code).toBe(2);
    } finally {
      process.env.PATH = path;
    }
    expect(readFileSync(logged, 'utf8').split('\n').filter(Boolean)).toEqual([
      '-t|statekill|-p|daemon.err|statekill: config: gateways[0].address: expected an address or {inet, inet6}',
      `-t|sk-test|-p|local4.err|statekill: state file ${w.dir} is a directory: the policy memory must be a regular file`,
      '-t|sk-watch|-p|daemon.err|statekill: config: gateways[0].address: expected an address or {inet, inet6}',
    ]);
  });
});

describe('issue 13: reports stay small, the audit file has every state', () => {
  it('--audit to a FIFO nobody reads is refused at once (exit 2), not a hang; one with a reader gets the lines', async () => {
    const w = workdir();
    const fifo = join(w.dir, 'audit.fifo');
    execFileSync('mkfifo', [fifo]);
    const cfg = w.config('holdDownSeconds: 0\ngateways:\n  - { name: WAN1, interface: igb0, address: 198.51.100.1 }\n  - { name: WAN2, interface: igb1, address: 203.0.113.1 }\ngroups:\n  - { name: G, members: [ { gateway: WAN1, tier: 1 }, { gateway: WAN2, tier: 2 } ] }\n');
    const args = ['event', '--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--no-wait', '--audit', fifo];
    expect(await cliProcess(args)).toEqual({ code: 2, stdout: '', stderr: `statekill: --audit: ${fifo} is a FIFO nobody reads (writing would block)\n` });
    // `--audit /dev/stdout | jq`: a reader is there, and every line arrives.
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let got = '';
    reader.stdout.on('data', (d) => (got += d));
    const readerDone = new Promise((r) => reader.on('exit', r));
    await new Promise((r) => setTimeout(r, 200));
    expect((await cliProcess(args)).code).toBe(0);
    await readerDone;
    expect(got.trim().split('\n').map((l) => JSON.parse(l).id.slice(-2)).sort()).toEqual(GW1_STATES);
  }, 40_000);

  it('a 300k-state event: the --json result and each log line are under 64 KiB; --audit lists every killed state', async () => {
    const { createSimKernel } = await import('../src/index.js');
    const { engineKiller } = await import('../src/policy/engine-killer.js');
    const { auditFile } = await import('../src/policy/audit.js');
    const w = workdir();
    const sim = createSimKernel({ generate: { states: 300_000, seed: 7, profile: 'realistic' } });
    const audit = auditFile(w.audit);
    const config = parseConfig({ holdDownSeconds: 0, gateways: [{ name: 'WAN1', interface: 'igb0', address: '198.51.100.1' }, { name: 'WAN2', interface: 'igb1', address: '203.0.113.1' }],
      groups: [{ name: 'G', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }] });
    const lines: string[] = [];
    const r = await runEvent(config, { gateways: ['WAN1'], status: 'down', others: { WAN2: 'up' }, stateFile: w.state, noWait: true },
      { killer: engineKiller({ sim }, { audit }), log: (level, msg, fields) => void lines.push(JSON.stringify({ level, msg, ...fields })) });
    audit.close();
    const report = r.outcomes[0].reports[0];
    expect(report.killed).toBeGreaterThan(40_000);
    expect(JSON.stringify(r).length).toBeLessThan(64 * 1024);
    for (const l of lines) expect(l.length).toBeLessThan(64 * 1024);
    const auditLines = readFileSync(w.audit, 'utf8').trim().split('\n');
    expect(auditLines.length).toBe(report.selected + report.paired);
    expect(auditLines.filter((l) => JSON.parse(l).result === 'killed').length).toBe(report.killed);
    expect(JSON.parse(auditLines[0])).toMatchObject({ gateway: 'WAN1', kind: 'failover', reason: 'selected', result: 'killed' });
  }, 60_000);
});

describe('SIGTERM at awkward moments', () => {
  const CFG = (extra: string) => `${extra}gateways:\n  - { name: WAN1, interface: igb0, address: 198.51.100.1 }\n  - { name: WAN2, interface: igb1, address: 203.0.113.1 }\ngroups:\n  - { name: G, failback: kill, failbackRules: [10], members: [ { gateway: WAN1, tier: 1 }, { gateway: WAN2, tier: 2 } ] }\n`;

  /** Spawns `statekill event ARGS`, sends SIGTERM after `afterMs`; resolves with exit code, output and ms from signal to exit. */
  function termAfter(args: string[], afterMs: number): Promise<{ code: number | null; out: string; err: string; exitMs: number }> {
    return new Promise((resolve) => {
      const c = spawn(process.execPath, [BIN, 'event', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.on('data', (d) => (out += d));
      c.stderr.on('data', (d) => (err += d));
      let sent = 0;
      const t = setTimeout(() => ((sent = Date.now()), c.kill('SIGTERM')), afterMs);
      const hard = setTimeout(() => c.kill('SIGKILL'), afterMs + 25_000);
      c.on('exit', (code) => (clearTimeout(t), clearTimeout(hard), resolve({ code, out, err, exitMs: Date.now() - sent })));
    });
  }

  it('during a hold-down wait: stops at once, the deferred failback stays pending in memory, exit 1', async () => {
    const w = workdir();
    const cfg = w.config(CFG('holdDownSeconds: 20\n'));
    const args = ['--gateway', 'WAN1', '--gateway-status', 'WAN2=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit];
    expect((await cli([...args, '--status', 'down', '--no-wait'])).code).toBe(0);
    const r = await termAfter([...args, '--status', 'up'], 1500);
    expect(r.exitMs).toBeLessThan(3000);
    expect(r.code).toBe(1);
    expect(r.out).toBe('deferring failback for gateway WAN1: up for 0 s, hold-down 20 s\n');
    expect(r.err).toBe('warn: event: SIGTERM: stopping; what was not killed stays pending\nwarn: stopped while waiting for the hold-down: WAN1 failback stays pending\n');
    expect(JSON.parse(readFileSync(w.state, 'utf8')).gateways.WAN1.pending).toBe('failback');
  }, 40_000);

  it('before a second pass: stops at once after the first pass, exit 0', async () => {
    const w = workdir();
    const cfg = w.config(CFG('holdDownSeconds: 0\nordering: { secondPassSeconds: 20 }\n'));
    const r = await termAfter(['--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait'], 1500);
    expect(r.exitMs).toBeLessThan(3000);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[1]).toBe('WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)');
    expect(r.err).toBe('warn: event: SIGTERM: stopping; what was not killed stays pending\nwarn: stopped before the second pass\n');
  }, 40_000);

  it('while waiting for another event\'s lock: stops at once, decides and kills nothing, memory untouched, exit 1', async () => {
    const w = workdir();
    const cfg = w.config(CFG('holdDownSeconds: 0\n'));
    const unlock = await lockState(w.state, { waitMs: 1000 });
    try {
      const r = await termAfter(['--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', cfg, '--sim', DUAL, '--state', w.state, '--audit', w.audit, '--no-wait'], 1500);
      expect(r.exitMs).toBeLessThan(3000);
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toBe(`warn: event: SIGTERM: stopping; what was not killed stays pending\nstatekill: state file ${w.state}: stopped while waiting for its lock; nothing decided\n`);
    } finally {
      await unlock();
    }
    expect(existsSync(w.state)).toBe(false);
    expect(w.killed()).toEqual([]);
  }, 40_000);
});
