/**
 * The policy scenarios of failover-anchors.md section 8, end to end on the real engine over a
 * simulated pf table (test/fixtures/policy/dual-wan.jsonl): each asserts the decision with its logged
 * reason AND the exact states killed (by the last two hex digits of their ids) and left alive.
 */
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSimKernel, decodeState, openTable, parseJsonl, plannedStates } from '../src/index.js';
import type { SimKernelHandle } from '../src/native/types-sim.js';
import { parseIfconfigCarp } from '../src/policy/carp.js';
import { loadConfig, type PolicyConfig } from '../src/policy/config.js';
import { engineKiller } from '../src/policy/engine-killer.js';
import { runEvent, type EventRequest } from '../src/policy/event-runner.js';

const FIXTURE = new URL('./fixtures/policy/dual-wan.jsonl', import.meta.url).pathname;
const CONFIG = new URL('./fixtures/policy/dual-wan.yaml', import.meta.url).pathname;
const ALL = ['01', '02', '03', '04', '05', '06', '07', '08', '09', '0a', '0b', '0c', '0d', '0e', '0f', '10', '11', '12', '13', '14'];
const GW1_STATES = ['01', '02', '09', '0c']; // LAN via GW1 + its NAT partner, DoT from the WAN1 address, GW1's probe
const T0 = Date.UTC(2026, 10, 23, 8, 0, 0);
const RECONNECT = '{"id":"0000000000000021","creatorid":"0badc0de","ifname":"igb2","af":"inet","proto":"tcp","direction":"in","key":[{"addr":["10.0.0.6","8.8.8.8"],"port":[40099,443]},{"addr":["10.0.0.6","8.8.8.8"],"port":[40099,443]}],"rt":"route-to","rt_addr":"203.0.113.1","rt_ifname":"igb1","rule":10}';

const without = (all: string[], gone: string[]) => all.filter((x) => !gone.includes(x));

/**
 * The fixture's policy with only group FAILOVER and no metered backup, unless a test says otherwise.
 * Product generic: failback narrows by rule number here (pfSense's label failback is tested in
 * policy-firewall.test.ts).
 */
function baseConfig(edit: (c: PolicyConfig) => void = () => {}): PolicyConfig {
  const c = loadConfig(CONFIG);
  c.product = 'generic';
  c.holdDownSeconds = 0;
  c.groups = c.groups.filter((g) => g.name === 'FAILOVER').map((g) => ({ ...g, holdDownSeconds: 0 }));
  c.gateways.find((g) => g.name === 'LTE')!.failbackByPriority = false;
  edit(c);
  return c;
}

function scenario(config: PolicyConfig) {
  const sim: SimKernelHandle = createSimKernel({ file: FIXTURE });
  const stateFile = join(mkdtempSync(join(tmpdir(), 'sk-scn-')), 'state.json');
  const log: string[] = [];
  const kills: string[][] = [];
  let now = T0;
  let onSleep: () => void = () => {};
  const killer = engineKiller({ sim }, { onPlan: (plan) => void kills.push([...plannedStates(plan)].map((p) => p.id.slice(-2)).sort()) });
  return {
    sim,
    log,
    kills,
    at: (seconds: number) => void (now = T0 + seconds * 1000),
    onSleep: (f: () => void) => void (onSleep = f),
    event: (gateway: string, status: string, others: Record<string, string> = {}, extra: Partial<EventRequest> & { carpIfconfig?: string } = {}) =>
      runEvent(config, { gateways: [gateway], status, others, stateFile, ...extra }, {
        killer,
        log: (_level, msg) => void log.push(msg),
        now: () => now,
        sleep: async (ms) => {
          onSleep();
          now += ms;
        },
        carpProbe: extra.carpIfconfig !== undefined ? async () => parseIfconfigCarp(extra.carpIfconfig!) : undefined,
      }),
    alive: async () => {
      const t = await openTable({ sim });
      try {
        const snap = await t.snapshot();
        return Array.from({ length: snap.count }, (_, i) => decodeState(snap.bytes, i, snap.layout).id.slice(-2)).sort();
      } finally {
        await t.close();
      }
    },
  };
}

describe('policy scenarios on a simulated pf table', () => {
  it('1. primary fails, backup up: kill GW1 states and their pairs only', async () => {
    const s = scenario(baseConfig());
    const r = await s.event('WAN1', 'down', { WAN2: 'up' });
    expect(r.decisions.map((d) => d.reason)).toEqual(['killing states of gateway WAN1: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)']);
    expect(s.kills).toEqual([GW1_STATES]);
    expect(s.log[1]).toBe('WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)');
    expect(await s.alive()).toEqual(without(ALL, GW1_STATES));
  });

  it('2. backup fails while the primary is healthy: only GW2 states die (+ pairs); every GW1 state survives', async () => {
    const s = scenario(baseConfig());
    const r = await s.event('WAN2', 'down', { WAN1: 'up' });
    expect(r.decisions.map((d) => d.reason)).toEqual(['killing states of gateway WAN2: down under group FAILOVER (trigger down); failover target WAN1 (WAN1: up)']);
    const gw2 = ['03', '04', '05', '06', '07', '08', '0a', '0b'];
    expect(s.kills).toEqual([gw2]);
    expect(await s.alive()).toEqual(without(ALL, gw2));
  });

  it('3. no viable target (backup disabled): nothing dies, the skip is logged with its reason', async () => {
    const s = scenario(baseConfig((c) => (c.gateways.find((g) => g.name === 'WAN2')!.disabled = true)));
    const r = await s.event('WAN1', 'down');
    expect(r.decisions.map((d) => `${d.action}: ${d.reason}`)).toEqual(['skip: skipping state kill for gateway WAN1: no viable failover target (WAN2: disabled)']);
    expect(s.kills).toEqual([]);
    expect(await s.alive()).toEqual(ALL);
  });

  it('4. both members down: skip with a log line; only an explicit requireViableTarget: false kills', async () => {
    const s = scenario(baseConfig());
    await s.event('WAN2', 'down');
    await s.event('WAN1', 'down');
    expect(s.log).toEqual([
      'skipping state kill for gateway WAN2: no viable failover target (WAN1: unknown)',
      'skipping state kill for gateway WAN1: no viable failover target (WAN2: down)',
    ]);
    expect(await s.alive()).toEqual(ALL);

    const forced = scenario(baseConfig((c) => (c.groups[0].requireViableTarget = false)));
    const r = await forced.event('WAN1', 'down', { WAN2: 'down' });
    expect(r.decisions[0].reason).toBe('killing states of gateway WAN1 without a viable failover target (WAN2: down): down under group FAILOVER (trigger down); group FAILOVER sets requireViableTarget: false');
    expect(forced.kills).toEqual([GW1_STATES]);
  });

  it('6. failback with kill: the group rule\'s states on GW2 die (+ pairs); pinned, port-forward, IPsec and probe states survive', async () => {
    const s = scenario(baseConfig());
    await s.event('WAN1', 'down', { WAN2: 'up' });
    s.at(60);
    const r = await s.event('WAN1', 'up');
    expect(r.decisions.map((d) => d.reason)).toEqual(["failback in group FAILOVER: WAN1 (tier 1) is up again; killing states the group's rules sent to lower tiers WAN2 (tier 2) (rules 10)"]);
    expect(s.kills).toEqual([GW1_STATES, ['03', '04']]);
    expect(await s.alive()).toEqual(without(ALL, [...GW1_STATES, '03', '04']));
  });

  it('7. failback with keep: nothing dies', async () => {
    const s = scenario(baseConfig((c) => (c.groups[0].failback = 'keep')));
    await s.event('WAN1', 'down', { WAN2: 'up' });
    s.at(60);
    const r = await s.event('WAN1', 'up');
    expect(r.decisions.map((d) => d.reason)).toEqual(['failback in group FAILOVER: WAN1 (tier 1) is up again; keeping states on lower tiers WAN2 (tier 2) (failback: keep)']);
    expect(s.kills).toEqual([GW1_STATES]);
    expect(await s.alive()).toEqual(without(ALL, GW1_STATES));
  });

  it('8. failback race: the kill waits for the ruleset reload, so a client reconnecting in the gap does not stay on GW2', async () => {
    // A client reconnects through the old ruleset (rule 10 -> GW2) before the new one is loaded.
    const gap = (sim: SimKernelHandle) => sim.load(parseJsonl(RECONNECT).records, 384);

    // OPNsense's order (kill, then reload): the reconnected state stays on GW2.
    const opn = scenario(baseConfig());
    await opn.event('WAN1', 'down', { WAN2: 'up' });
    opn.at(60);
    await opn.event('WAN1', 'up');
    gap(opn.sim);
    expect(await opn.alive()).toContain('21');

    // statekill's order: wait until the reload rewrites the marker, then kill.
    const marker = join(mkdtempSync(join(tmpdir(), 'sk-mark-')), 'rules.debug');
    writeFileSync(marker, 'old ruleset\n');
    const s = scenario(baseConfig((c) => (c.ordering.reloadMarker = marker)));
    await s.event('WAN1', 'down', { WAN2: 'up' }, { reload: { signal: { kind: 'marker', file: marker }, since: { ms: 0, precisionMs: 0 } } });
    s.at(60);
    const reloadAt = Math.floor(Date.now() / 1000) + 5;
    const seen: string[] = [];
    s.onSleep(() => {
      if (seen.length) return;
      seen.push(`waiting for the reload after ${s.kills.length} kill(s)`);
      gap(s.sim);
      writeFileSync(marker, 'new ruleset\n');
      utimesSync(marker, reloadAt, reloadAt);
    });
    await s.event('WAN1', 'up', {}, { reload: { signal: { kind: 'marker', file: marker }, since: { ms: reloadAt * 1000, precisionMs: 0 } } });
    expect(seen).toEqual(['waiting for the reload after 1 kill(s)']);
    expect(s.log.slice(3)).toEqual([
      "failback in group FAILOVER: WAN1 (tier 1) is up again; killing states the group's rules sent to lower tiers WAN2 (tier 2) (rules 10)",
      `ruleset reloaded (${marker} updated)`,
      'WAN1: killed 3 states (selected 2, paired 1, ambiguous 0, already gone 0, failed 0)',
    ]);
    expect(s.kills).toEqual([GW1_STATES, ['03', '04', '21']]);
    expect(await s.alive()).toEqual(without(ALL, [...GW1_STATES, '03', '04'])); // no group-rule state left on GW2
  });

  it('14. same gateway in two groups at different tiers: all its states die; failback only in the group where it is tier 1', async () => {
    const s = scenario(baseConfig((c) => {
      c.groups = loadConfig(CONFIG).groups.map((g) => ({ ...g, holdDownSeconds: 0, failback: 'kill' as const }));
      c.groups[1].failbackRules = [20];
      c.groups[0].failbackRules = [10];
    }));
    const r = await s.event('WAN1', 'down', { WAN2: 'up' });
    expect(r.decisions.map((d) => d.reason)).toEqual(['killing states of gateway WAN1: down under group FAILOVER (trigger down), group BACKUP_FIRST (trigger down); failover target WAN2 (WAN2: up)']);
    s.at(60);
    const back = await s.event('WAN1', 'up');
    expect(back.decisions.map((d) => `${d.action}: ${d.reason}`)).toEqual([
      "kill: failback in group FAILOVER: WAN1 (tier 1) is up again; killing states the group's rules sent to lower tiers WAN2 (tier 2) (rules 10)",
      'skip: no failback in group BACKUP_FIRST: WAN1 is up again at tier 2, below the active tier 1 (WAN2)',
    ]);
    expect(s.kills).toEqual([GW1_STATES, ['03', '04']]);
    expect(await s.alive()).toEqual(without(ALL, [...GW1_STATES, '03', '04']));
  });

  it('15. IPv6 link-local gateway: only fe80::1 states routed via igb0 die, not the same address on igb1', async () => {
    const s = scenario(baseConfig((c) => {
      c.gateways.push({ ...c.gateways.find((g) => g.name === 'WAN1_V6')!, name: 'WAN2_V6', interface: 'igb1', addresses: [{ af: 'inet6', addr: '2001:db8:2::1', prefix: 128 }] });
      c.groups.push({ ...c.groups[0], name: 'V6', failbackRules: [], members: [{ gateway: 'WAN1_V6', tier: 1 }, { gateway: 'WAN2_V6', tier: 2 }] });
    }));
    const r = await s.event('WAN1_V6', 'down', { WAN2_V6: 'up', WAN1: 'up' });
    expect(r.decisions.map((d) => d.reason)).toEqual(['killing states of gateway WAN1_V6: down under group V6 (trigger down); failover target WAN2_V6 (WAN2_V6: up)']);
    expect(r.decisions[0].selections).toEqual([{ name: 'gateway WAN1_V6', gateways: [{ af: 'inet6', addr: 'fe80::1', prefix: 128, ifname: 'igb0' }] }]);
    expect(s.kills).toEqual([['13']]);
    expect(await s.alive()).toEqual(without(ALL, ['13']));
  });

  it('18. flapping: one kill, repeats kill nothing new, hold-down stops the storm, GW2 states survive throughout', async () => {
    const s = scenario(baseConfig((c) => (c.groups[0].holdDownSeconds = 120)));
    await s.event('WAN1', 'down', { WAN2: 'up' });
    await s.event('WAN1', 'down'); // the same event again
    s.at(30);
    await s.event('WAN1', 'up', {}, { noWait: true });
    s.at(60);
    await s.event('WAN1', 'down', {}, { noWait: true });
    expect(s.log).toEqual([
      'killing states of gateway WAN1: down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)',
      'WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)',
      'no state kill for gateway WAN1: already failed since 2026-11-23T08:00:00.000Z; nothing new to do',
      'deferring failback for gateway WAN1: up for 0 s, hold-down 120 s',
      'deferring state kill for gateway WAN1: hold-down, its states were killed 60 s ago (< 120 s)',
    ]);
    expect(s.kills).toEqual([GW1_STATES]);
    // The same selections run again kill nothing: the table has nothing left to match.
    const again = await engineKiller({ sim: s.sim })([{ gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }], 'repeat');
    expect(again.killed).toBe(0);
    const alive = await s.alive();
    for (const gw2 of ['03', '04', '05', '06', '07', '08', '0a', '0b']) expect(alive).toContain(gw2);
  });

  it('19. trigger levels: under "member down" high latency kills nothing; under downlosslatency it kills GW1 states', async () => {
    const s = scenario(baseConfig());
    await s.event('WAN1', 'up', { WAN2: 'up' });
    const r = await s.event('WAN1', 'delay');
    expect(r.decisions.map((d) => d.reason)).toEqual(['no state kill for gateway WAN1: up (delay) is not down under group FAILOVER (trigger down)']);
    expect(await s.alive()).toEqual(ALL);

    const ll = scenario(baseConfig((c) => (c.groups[0].trigger = 'downlosslatency')));
    await ll.event('WAN1', 'up', { WAN2: 'up' });
    const k = await ll.event('WAN1', 'delay');
    expect(k.decisions.map((d) => d.reason)).toEqual(['killing states of gateway WAN1: up (delay) under group FAILOVER (trigger downlosslatency); failover target WAN2 (WAN2: up)']);
    expect(ll.kills).toEqual([GW1_STATES]);
  });

  it('20. forced down (maintenance): keeps states by default, kills with killOnForceDown', async () => {
    const keep = scenario(baseConfig((c) => (c.gateways[0].forceDown = true)));
    const r = await keep.event('WAN1', 'up', { WAN2: 'up' });
    expect(r.decisions.map((d) => d.reason)).toEqual(['skipping state kill for gateway WAN1: forced down (maintenance) and its killOnForceDown is off']);
    expect(await keep.alive()).toEqual(ALL);

    const kill = scenario(baseConfig((c) => Object.assign(c.gateways[0], { forceDown: true, killOnForceDown: true })));
    const k = await kill.event('WAN1', 'up', { WAN2: 'up' });
    expect(k.decisions.map((d) => d.reason)).toEqual(['killing states of gateway WAN1: force_down under group FAILOVER (trigger down); failover target WAN2 (WAN2: up)']);
    expect(kill.kills).toEqual([GW1_STATES]);
  });

  it('21. metered backup by priority: LTE client states die when WAN1 recovers; management to the LTE address survives', async () => {
    const s = scenario(baseConfig((c) => {
      c.groups[0].failback = 'keep';
      c.gateways.find((g) => g.name === 'LTE')!.failbackByPriority = true;
    }));
    await s.event('WAN1', 'down', { WAN2: 'up', LTE: 'up' });
    s.at(60);
    const r = await s.event('WAN1', 'up');
    expect(r.decisions.map((d) => `${d.action}: ${d.reason}`)).toEqual([
      'skip: failback in group FAILOVER: WAN1 (tier 1) is up again; keeping states on lower tiers WAN2 (tier 2) (failback: keep)',
      'kill: failback by priority: WAN1 (priority 253) is up again; killing states of metered gateway LTE (priority 255) (rules 30)',
    ]);
    expect(s.kills).toEqual([GW1_STATES, ['10', '11']]);
    expect(await s.alive()).toEqual(without(ALL, [...GW1_STATES, '10', '11']));
  });

  it('22. monitor restart: every gateway up on the first sample kills nothing', async () => {
    const s = scenario(baseConfig((c) => (c.gateways.find((g) => g.name === 'LTE')!.failbackByPriority = true)));
    for (const gw of ['WAN1', 'WAN2', 'LTE']) await s.event(gw, 'up');
    expect(s.log).toEqual(['WAN1', 'WAN2', 'LTE'].map((g) => `no state kill for gateway ${g}: first status seen is up, which is not a recovery`));
    expect(s.kills).toEqual([]);
    expect(await s.alive()).toEqual(ALL);
  });

  it('23. HA: a CARP backup kills nothing and says why; the master kills', async () => {
    const backup = scenario(baseConfig((c) => (c.carp = { vhid: 1 })));
    const r = await backup.event('WAN1', 'down', { WAN2: 'up' }, { carpIfconfig: 'igb0: flags=8843<UP> mtu 1500\n\tcarp: BACKUP vhid 1 advbase 1 advskew 100\n' });
    expect(r.decisions.map((d) => d.reason)).toEqual(['skipping state kill for gateway WAN1: this node is CARP BACKUP for vhid 1 on igb0 (pfsync would carry the deletes to the master)']);
    expect(backup.kills).toEqual([]);
    expect(await backup.alive()).toEqual(ALL);

    const master = scenario(baseConfig((c) => (c.carp = { vhid: 1 })));
    await master.event('WAN1', 'down', { WAN2: 'up' }, { carpIfconfig: 'igb0: flags=8843<UP> mtu 1500\n\tcarp: MASTER vhid 1 advbase 1 advskew 0\n' });
    expect(master.kills).toEqual([GW1_STATES]);
  });
});

