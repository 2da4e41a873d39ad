/**
 * decide(), pure: each decision with its exact log line and selections, the memory it leaves, and
 * hold-down on an injected clock. Kills here go to a recording fake; policy-scenarios.test.ts runs
 * the same policy against the real engine on a simulated table.
 */
import { describe, expect, it } from 'vitest';
import type { Report, Selection } from '../src/engine/types.js';
import { parseConfig, type PolicyConfig } from '../src/policy/config.js';
import { decide, type DecideResult } from '../src/policy/decide.js';
import { runDecisions } from '../src/policy/execute.js';
import { emptyState, type PolicyState } from '../src/policy/state.js';
import { parseStatusWord } from '../src/policy/status.js';

const GW1 = { af: 'inet', addr: '198.51.100.1', prefix: 32 };
const GW2 = { af: 'inet', addr: '203.0.113.1', prefix: 32 };
const LTE = { af: 'inet', addr: '192.0.2.1', prefix: 32 };

function config(over: Record<string, unknown> = {}, groups?: unknown[]): PolicyConfig {
  return parseConfig({
    holdDownSeconds: 0,
    gateways: [
      { name: 'WAN1', interface: 'igb0', address: '198.51.100.1', natAddress: '198.51.100.2', priority: 253 },
      { name: 'WAN2', interface: 'igb1', address: '203.0.113.1' },
      { name: 'LTE', interface: 'ue0', address: '192.0.2.1', priority: 254, failbackByPriority: true, failbackRules: [30] },
    ],
    groups: groups ?? [{ name: 'FAILOVER', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }], failback: 'kill', failbackRules: [10] }],
    ...over,
  });
}

const T0 = Date.UTC(2026, 10, 23, 8, 0, 0);
const S = (w: string) => parseStatusWord(w);

/** Runs a sequence of events through decide(), threading memory, like the daemon does. */
function sequence(c: PolicyConfig, events: [at: number, gw: string, word: string, observed?: Record<string, string>][], start: PolicyState = emptyState()) {
  let state = start;
  const out: DecideResult[] = [];
  for (const [at, gw, word, observed] of events) {
    const r = decide({ config: c, event: { gateway: gw, status: S(word) }, observed: observed && Object.fromEntries(Object.entries(observed).map(([k, v]) => [k, S(v)])), previous: state, now: T0 + at * 1000 });
    out.push(r);
    state = r.state;
  }
  return { out, state, lines: out.flatMap((r) => r.decisions.map((d) => `${d.action}: ${d.reason}`)) };
}

const allUp = { WAN1: 'up', WAN2: 'up', LTE: 'up' };

describe('failover decisions', () => {
  it('primary down with the backup up: kill its next hop and NAT address states', () => {
    const { out } = sequence(config(), [[0, 'WAN1', 'down', allUp]]);
    expect(out[0].decisions).toEqual([{
      gateway: 'WAN1', kind: 'failover', action: 'kill',
      reason: 'killing states of gateway WAN1: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)',
      // The NAT address reaches only default-routed states: one routed to a live gateway is not WAN1's (#10 item 5).
      selections: [{ name: 'gateway WAN1', gateways: [GW1] }, { name: 'gateway WAN1 NAT address (default-routed)', natAddrs: [{ af: 'inet', addr: '198.51.100.2', prefix: 32 }], defaultRouted: true }],
    }]);
    expect(out[0].state.gateways.WAN1).toEqual({ status: S('down'), failed: true, since: T0, killedAt: T0 });
  });

  it('no viable target: skip and say why (the #9789 case), then kill once the backup comes up', () => {
    const c = config({ gateways: [
      { name: 'WAN_DHCP', interface: 'igb0', address: '198.51.100.1' },
      { name: 'WAN2', interface: 'igb1', address: '203.0.113.1' },
      { name: 'LTE', interface: 'ue0', address: '192.0.2.1', disabled: true },
    ] }, [{ name: 'G', members: [{ gateway: 'WAN_DHCP', tier: 1 }, { gateway: 'WAN2', tier: 2 }, { gateway: 'LTE', tier: 3 }] }]);
    const { out, lines } = sequence(c, [
      [0, 'WAN_DHCP', 'down', { WAN2: 'down' }],
      [10, 'WAN2', 'up'],
    ]);
    expect(out[0].decisions[0].selections).toEqual([]);
    expect(lines).toEqual([
      'skip: skipping state kill for gateway WAN_DHCP: no viable failover target (WAN2: down, LTE: disabled)',
      'skip: no state kill for gateway WAN2: first status seen is up, which is not a recovery',
      'kill: killing states of gateway WAN_DHCP: down under group G (trigger down); failover target WAN2 (WAN2: up, LTE: disabled)',
    ]);
  });

  it('requireViableTarget: false forces the kill and says so', () => {
    const c = config({}, [{ name: 'FAILOVER', requireViableTarget: false, members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }]);
    const { out } = sequence(c, [[0, 'WAN1', 'down', { WAN2: 'down' }]]);
    expect(out[0].decisions[0].action).toBe('kill');
    expect(out[0].decisions[0].reason).toBe('killing states of gateway WAN1 without a viable failover target (WAN2: down): down under group FAILOVER (trigger down); group FAILOVER sets requireViableTarget: false');
  });

  it('trigger "member down": high latency alone kills nothing; "downlosslatency" kills', () => {
    const memberDown = sequence(config(), [[0, 'WAN1', 'up', allUp], [10, 'WAN1', 'delay', allUp]]);
    expect(memberDown.lines[1]).toBe('skip: no state kill for gateway WAN1: up (delay) is not down under group FAILOVER (trigger down)');
    // Even as the first status seen, a warning is not a failure under "member down".
    expect(sequence(config(), [[0, 'WAN1', 'delay', allUp]]).lines).toEqual(['skip: no state kill for gateway WAN1: first status seen is up (delay), which is not a recovery']);
    const c = config({}, [{ name: 'FAILOVER', trigger: 'downlosslatency', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }]);
    const ll = sequence(c, [[0, 'WAN1', 'delay', allUp]]);
    expect(ll.lines).toEqual(['kill: killing states of gateway WAN1: up (delay) under group FAILOVER (trigger downlosslatency); failover target WAN2 (WAN2: up)']);
  });

  it('gateway switching: another gateway of the same family up is a target; a lone gateway has none', () => {
    const lone = parseConfig({ gateways: [{ name: 'WAN1', interface: 'igb0', address: '198.51.100.1' }, { name: 'V6', interface: 'igb0', address: '2001:db8::1' }] });
    expect(sequence(lone, [[0, 'WAN1', 'down', { V6: 'up' }]]).lines).toEqual(['skip: skipping state kill for gateway WAN1: not in any group and gateway switching is off: nowhere to fail over']);
    const sw = parseConfig({ gatewaySwitching: true, gateways: [{ name: 'WAN1', interface: 'igb0', address: '198.51.100.1' }, { name: 'V6', interface: 'igb0', address: '2001:db8::1' }, { name: 'WAN2', interface: 'igb1', address: '203.0.113.1' }] });
    expect(sequence(sw, [[0, 'WAN1', 'down', { V6: 'up', WAN2: 'down' }]]).lines).toEqual(['skip: skipping state kill for gateway WAN1: no viable failover target (WAN2: down)']);
    expect(sequence(sw, [[0, 'WAN1', 'down', { V6: 'up', WAN2: 'up' }]]).lines).toEqual(['kill: killing states of gateway WAN1: down (gateway switching); failover target WAN2 (WAN2: up)']);
  });

  it('forced down follows the gateway\'s own setting', () => {
    const keep = config();
    keep.gateways[0].forceDown = true;
    expect(sequence(keep, [[0, 'WAN1', 'up', allUp]]).lines).toEqual(['skip: skipping state kill for gateway WAN1: forced down (maintenance) and its killOnForceDown is off']);
    const kill = config();
    kill.gateways[0].forceDown = true;
    kill.gateways[0].killOnForceDown = true;
    expect(sequence(kill, [[0, 'WAN1', 'up', allUp]]).lines).toEqual(['kill: killing states of gateway WAN1: force_down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)']);
  });

  it('repeating an event decides nothing new', () => {
    const { lines } = sequence(config(), [[0, 'WAN1', 'down', allUp], [5, 'WAN1', 'down', allUp]]);
    expect(lines[1]).toBe('skip: no state kill for gateway WAN1: already failed since 2026-11-23T08:00:00.000Z; nothing new to do');
  });

  it('killOnDown: false skips with the group named', () => {
    const c = config({}, [{ name: 'FAILOVER', killOnDown: false, members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }]);
    expect(sequence(c, [[0, 'WAN1', 'down', allUp]]).lines).toEqual(['skip: skipping state kill for gateway WAN1: killOnDown is off for group FAILOVER']);
  });
});

describe('failback decisions', () => {
  it('kill: the group\'s states on lower tiers, by next hop, narrowed to the group\'s rules', () => {
    const { out } = sequence(config(), [[0, 'WAN1', 'down', allUp], [60, 'WAN1', 'up', allUp]]);
    expect(out[1].decisions).toEqual([
      { gateway: 'WAN1', kind: 'failback', action: 'kill', group: 'FAILOVER',
        reason: "failback in group FAILOVER: WAN1 (tier 1) is up again; killing states the group's rules sent to lower tiers WAN2 (tier 2) (rules 10)",
        selections: [{ name: 'failback FAILOVER: tiers below 1', gateways: [GW2], rules: [10] }] },
      { gateway: 'WAN1', kind: 'failback', action: 'kill',
        reason: 'failback by priority: WAN1 (priority 253) is up again; killing states of metered gateway LTE (priority 254) (rules 30)',
        selections: [{ name: 'failback to WAN1: metered LTE', gateways: [LTE], rules: [30] }] },
    ]);
  });

  it('keep: nothing, said once', () => {
    const c = config({ gateways: [{ name: 'WAN1', interface: 'igb0', address: '198.51.100.1' }, { name: 'WAN2', interface: 'igb1', address: '203.0.113.1' }] },
      [{ name: 'FAILOVER', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }]);
    expect(sequence(c, [[0, 'WAN1', 'down', { WAN2: 'up' }], [60, 'WAN1', 'up']]).lines[1]).toBe(
      'skip: failback in group FAILOVER: WAN1 (tier 1) is up again; keeping states on lower tiers WAN2 (tier 2) (failback: keep)');
  });

  it('monitor restart: all gateways up on the first sample is not a recovery', () => {
    const { out, lines } = sequence(config(), [[0, 'WAN1', 'up'], [0, 'WAN2', 'up'], [0, 'LTE', 'up']]);
    expect(out.flatMap((r) => r.decisions.filter((d) => d.action === 'kill'))).toEqual([]);
    expect(lines).toEqual([
      'skip: no state kill for gateway WAN1: first status seen is up, which is not a recovery',
      'skip: no state kill for gateway WAN2: first status seen is up, which is not a recovery',
      'skip: no state kill for gateway LTE: first status seen is up, which is not a recovery',
    ]);
  });

  it('same gateway in two groups at different tiers: failback only where it is the better tier', () => {
    const c = config({}, [
      { name: 'A', failback: 'kill', failbackRules: [11], members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] },
      { name: 'B', failback: 'kill', failbackRules: [12], members: [{ gateway: 'WAN2', tier: 1 }, { gateway: 'WAN1', tier: 2 }] },
    ]);
    c.gateways[2].failbackByPriority = false;
    const { lines } = sequence(c, [[0, 'WAN1', 'down', allUp], [60, 'WAN1', 'up', allUp]]);
    expect(lines).toEqual([
      'kill: killing states of gateway WAN1: down under group A (trigger down), group B (trigger down); failover target WAN2 (WAN2: up)',
      "kill: failback in group A: WAN1 (tier 1) is up again; killing states the group's rules sent to lower tiers WAN2 (tier 2) (rules 11)",
      'skip: no failback in group B: WAN1 is up again at tier 2, below the active tier 1 (WAN2)',
    ]);
  });
});

describe('hold-down on an injected clock', () => {
  it('defers the failback until the recovery has held, then acts on re-check', () => {
    const c = config({ holdDownSeconds: 30 });
    const { out, state } = sequence(c, [[0, 'WAN1', 'down', allUp], [40, 'WAN1', 'up', allUp]]);
    expect(out[1].decisions).toEqual([{ gateway: 'WAN1', kind: 'failback', action: 'defer', reason: 'deferring failback for gateway WAN1: up for 0 s, hold-down 30 s', selections: [] }]);
    expect(out[1].retryAt).toBe(T0 + 70_000);
    const early = decide({ config: c, previous: state, now: T0 + 50_000 });
    expect(early.decisions).toEqual([]);
    const r = decide({ config: c, previous: state, now: T0 + 70_000 });
    expect(r.decisions.map((d) => d.reason)).toEqual([
      "failback in group FAILOVER: WAN1 (tier 1) is up again; killing states the group's rules sent to lower tiers WAN2 (tier 2) (rules 10)",
      'failback by priority: WAN1 (priority 253) is up again; killing states of metered gateway LTE (priority 254) (rules 30)',
    ]);
    expect(r.retryAt).toBeUndefined();
  });

  it('flapping: one kill, no storm; a failback that did not hold never fires', () => {
    const c = config({ holdDownSeconds: 120 });
    const { lines, state } = sequence(c, [
      [0, 'WAN1', 'down', allUp],
      [30, 'WAN1', 'up', allUp],
      [60, 'WAN1', 'down', allUp],
      [90, 'WAN1', 'up', allUp],
      [100, 'WAN1', 'down', allUp],
    ]);
    expect(lines).toEqual([
      'kill: killing states of gateway WAN1: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)',
      'defer: deferring failback for gateway WAN1: up for 0 s, hold-down 120 s',
      'defer: deferring state kill for gateway WAN1: hold-down, its states were killed 60 s ago (< 120 s)',
      'defer: deferring failback for gateway WAN1: up for 0 s, hold-down 120 s',
      'defer: deferring state kill for gateway WAN1: hold-down, its states were killed 100 s ago (< 120 s)',
    ]);
    // Hold-down ends while WAN1 is still down: the deferred kill runs once.
    const r = decide({ config: c, previous: state, now: T0 + 120_000 });
    expect(r.decisions.map((d) => `${d.action}: ${d.reason}`)).toEqual(['kill: killing states of gateway WAN1: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)']);
    expect(decide({ config: c, previous: r.state, now: T0 + 121_000 }).decisions).toEqual([]);
  });
});

describe('CARP gating', () => {
  it('a backup node decides but does not kill, and says why', () => {
    const c = config({ carp: { vhid: 1 } });
    const r = decide({ config: c, event: { gateway: 'WAN1', status: S('down') }, observed: { WAN2: S('up') }, previous: emptyState(), now: T0, carp: { master: false, detail: 'this node is CARP BACKUP for vhid 1 on igb0' } });
    expect(r.decisions).toEqual([{ gateway: 'WAN1', kind: 'failover', action: 'skip', selections: [],
      reason: 'skipping state kill for gateway WAN1: this node is CARP BACKUP for vhid 1 on igb0 (pfsync would carry the deletes to the master)' }]);
    expect(r.state.gateways.WAN1.killedAt).toBeUndefined();
    const m = decide({ config: c, event: { gateway: 'WAN1', status: S('down') }, observed: { WAN2: S('up') }, previous: emptyState(), now: T0, carp: { master: true, detail: 'this node is CARP MASTER for vhid 1 on igb0' } });
    expect(m.decisions[0].action).toBe('kill');
  });
});

describe('runDecisions', () => {
  it('logs every decision, waits for the reload before killing, and runs a second pass', async () => {
    const calls: string[] = [];
    const report: Report = { scanned: 10, selected: 2, paired: 2, ambiguous: 0, killed: 4, alreadyGone: 0, failed: 0, dryRun: false, phasesMs: {} };
    const { out } = sequence(config(), [[0, 'WAN1', 'down', allUp]]);
    const outcomes = await runDecisions(out[0].decisions, {
      killer: async (sel: Selection[], why: string) => (calls.push(`kill ${sel.map((s) => s.name).join('+')} (${why.slice(0, 30)})`), report),
      log: (level, msg) => calls.push(`${level}: ${msg}`),
      waitForReload: async () => (calls.push('reload'), 'ruleset reloaded (/tmp/rules.debug updated)'),
      secondPassMs: 1000,
      sleep: async (ms) => void calls.push(`sleep ${ms}`),
    });
    expect(calls).toEqual([
      'info: killing states of gateway WAN1: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)',
      'reload',
      'info: ruleset reloaded (/tmp/rules.debug updated)',
      'kill gateway WAN1+gateway WAN1 NAT address (default-routed) (killing states of gateway WAN1)',
      'info: WAN1: killed 4 states (selected 2, paired 2, ambiguous 0, already gone 0, failed 0)',
      'sleep 1000',
      'kill gateway WAN1+gateway WAN1 NAT address (default-routed) (killing states of gateway WAN1)',
      'info: WAN1: killed 4 states (selected 2, paired 2, ambiguous 0, already gone 0, failed 0) (second pass)',
    ]);
    expect(outcomes[0].reports).toEqual([report, report]);
  });
});

describe('issue 11 decisions', () => {
  const pf = (groups?: unknown[]) => config({ product: 'pfsense' }, groups);

  it('pfSense failback kills by the group\'s rule labels gw=<tier>:<group> (not rule numbers), narrowed to the lower tiers\' next hops', () => {
    const c = pf([{ name: 'FAILOVER', failback: 'kill', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }, { gateway: 'LTE', tier: 3 }] }]);
    c.gateways[2].failbackByPriority = false;
    const { out } = sequence(c, [[0, 'WAN1', 'down', allUp], [60, 'WAN1', 'up', allUp]]);
    expect(out[1].decisions).toEqual([{
      gateway: 'WAN1', kind: 'failback', action: 'kill', group: 'FAILOVER',
      reason: "failback in group FAILOVER: WAN1 (tier 1) is up again; killing states the group's rules sent to lower tiers WAN2 (tier 2), LTE (tier 3) (labels gw=2:FAILOVER, gw=3:FAILOVER)",
      selections: [
        { name: 'failback FAILOVER: tiers below 1', gateways: [GW2, LTE], labels: ['gw=2:FAILOVER', 'gw=3:FAILOVER'] },
        // After the recovery reload the same rules say gw=1 (the plugin runs after the load): their states routed below.
        { name: 'failback FAILOVER: reloaded rules, tiers below 1', gateways: [GW2, LTE], labels: ['gw=1:FAILOVER'] },
      ],
    }]);
  });

  it('failback: kill without rules or labels is refused outside pfSense (it would kill port-forwards and pinned flows)', () => {
    expect(() => config({}, [{ name: 'G', failback: 'kill', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }]))
      .toThrow('config: groups[0].failback: kill needs failbackRules or failbackLabels (product generic does not label a group\'s rules)');
    const labelled = config({}, [{ name: 'G', failback: 'kill', failbackLabels: ['policy-G'], members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }]);
    labelled.gateways[2].failbackByPriority = false;
    expect(sequence(labelled, [[0, 'WAN1', 'down', allUp], [60, 'WAN1', 'up', allUp]]).out[1].decisions[0].selections)
      .toEqual([{ name: 'failback G: tiers below 1', gateways: [GW2], labels: ['policy-G'] }]);
  });

  it('pfSense trigger levels as gwlb.inc is_online_gateway_status(): "Offline (latency)" kills nothing under Member Down, kills under a latency trigger', () => {
    const lat = { state: 'up' as const, delay: true, loss: false, label: 'Offline (latency)' };
    const md = decide({ config: pf(), event: { gateway: 'WAN1', status: lat }, observed: { WAN2: S('up'), LTE: S('up') }, previous: emptyState(), now: T0 });
    expect(md.decisions.map((d) => `${d.action}: ${d.reason}`)).toEqual(['skip: no state kill for gateway WAN1: first status seen is Offline (latency), which is not a recovery']);
    const dl = pf([{ name: 'FAILOVER', trigger: 'downlatency', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }]);
    expect(decide({ config: dl, event: { gateway: 'WAN1', status: lat }, observed: { WAN2: S('up') }, previous: emptyState(), now: T0 }).decisions[0].reason)
      .toBe('killing states of gateway WAN1: Offline (latency) under group FAILOVER (trigger downlatency); failover target WAN2 (WAN2: up)');
  });

  it('several gateways in one event are decided on all their fresh statuses, in any order', () => {
    const both = (order: string[]) =>
      decide({ config: config(), events: order.map((g) => ({ gateway: g, status: S('down') })), observed: { LTE: S('up') }, previous: emptyState(), now: T0 })
        .decisions.map((d) => `${d.action}: ${d.reason}`).sort();
    // Before: WAN1 was decided first with WAN2 remembered up, so its states were killed toward a dead target.
    expect(both(['WAN1', 'WAN2'])).toEqual([
      'skip: skipping state kill for gateway WAN1: no viable failover target (WAN2: down)',
      'skip: skipping state kill for gateway WAN2: no viable failover target (WAN1: down)',
    ]);
    expect(both(['WAN2', 'WAN1'])).toEqual(both(['WAN1', 'WAN2']));
  });

  it('an unmonitored backup counts as up: a viable target', () => {
    const c = config({ gateways: [
      { name: 'WAN1', interface: 'igb0', address: '198.51.100.1' },
      { name: 'WAN2', interface: 'igb1', address: '203.0.113.1', unmonitored: true },
    ] }, [{ name: 'G', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }]);
    expect(decide({ config: c, event: { gateway: 'WAN1', status: S('down') }, previous: emptyState(), now: T0 }).decisions[0].reason)
      .toBe('killing states of gateway WAN1: down under group G (trigger down); failover target WAN2 (WAN2: up (unmonitored))');
  });

  it('a CARP backup remembers the skipped kill; promoted to master, a re-check without an event kills what is still due', () => {
    const c = config({ carp: { vhid: 1 } });
    const backup = decide({ config: c, event: { gateway: 'WAN1', status: S('down') }, observed: { WAN2: S('up') }, previous: emptyState(), now: T0, carp: { master: false, detail: 'this node is CARP BACKUP for vhid 1 on igb0' } });
    expect(backup.state.gateways.WAN1).toMatchObject({ failed: true, pending: 'failover', carpSkipped: true });
    // Still backup: the re-check skips again.
    const still = decide({ config: c, previous: backup.state, now: T0 + 5000, carp: { master: false, detail: 'this node is CARP BACKUP for vhid 1 on igb0' } });
    expect(still.decisions.map((d) => d.action)).toEqual(['skip']);
    const master = decide({ config: c, previous: still.state, now: T0 + 10_000, carp: { master: true, detail: 'this node is CARP MASTER for vhid 1 on igb0' } });
    expect(master.decisions.map((d) => `${d.action}: ${d.reason}`)).toEqual(['kill: killing states of gateway WAN1: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)']);
    expect(master.state.gateways.WAN1.carpSkipped).toBeUndefined();
    // And a gateway that recovered meanwhile is not killed.
    const recovered = decide({ config: c, event: { gateway: 'WAN1', status: S('up') }, previous: still.state, now: T0 + 10_000, carp: { master: true, detail: 'm' } });
    expect(recovered.decisions.filter((d) => d.kind === 'failover')).toEqual([]);
  });

  it('a dynamic gateway whose address is not known is skipped, never killed with an empty selection', () => {
    const c = config({ gateways: [
      { name: 'WAN1', interface: 'igb0', address: 'dynamic' },
      { name: 'WAN2', interface: 'igb1', address: '203.0.113.1' },
    ] }, [{ name: 'G', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }] }]);
    expect(decide({ config: c, event: { gateway: 'WAN1', status: S('down') }, observed: { WAN2: S('up') }, previous: emptyState(), now: T0 }).decisions.map((d) => `${d.action}: ${d.reason}`))
      .toEqual(['skip: skipping state kill for gateway WAN1: its address is not known (dynamic, and the firewall reported none): down under group G (trigger down)']);
  });
});
