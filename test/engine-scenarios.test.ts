/**
 * The engine's scenario corpus (issue 3, "Tests must show"): hand-built JSON Lines tables in
 * test/fixtures/scenarios/ (each file's comment describes its topology), loaded into a simulated
 * pf kernel. Every test asserts the exact states planned (with their reasons), the exact states
 * killed, and, by reading the table back, that every other state survives.
 * States are named by the last two hex digits of their ids ('01' = 0000000000000001).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeState, openTable, parseCidr, plannedStates, PfBackend } from '../src/index.js';
import type { Cidr, Plan, PlanOptions, Selection, StateTable } from '../src/index.js';
import type { ExecuteOptions } from '../src/engine/types.js';
import type { ExecuteResult } from '../src/engine/execute.js';
import { parseAddr, prefixMask } from '../src/engine/addr.js';

const fixture = (name: string) => new URL(`./fixtures/scenarios/${name}.jsonl`, import.meta.url).pathname;
const gw = (text: string): Cidr => parseCidr(text, 'test gateway');
const short = (id: string) => id.slice(-2);
const sorted = (xs: Iterable<string>) => [...xs].sort();
const idHex = (s: string) => `00000000000000${s}`;

async function aliveIds(table: StateTable): Promise<string[]> {
  const snap = await table.snapshot();
  return sorted(Array.from({ length: snap.count }, (_, i) => short(decodeState(snap.bytes, i, snap.layout).id)));
}

interface Outcome {
  plan: Plan;
  report: ExecuteResult;
  /** [id, reason] of every planned state, in plan order (killed ones, then ambiguous ones not killed). */
  planned: [string, string][];
  before: string[];
  killed: string[];
  alive: string[];
}

/**
 * Plan `selections` on a fresh simulated kernel loaded with the scenario, run `between` (if any),
 * execute, then read the table back.
 */
async function run(name: string, selections: Selection[], opts: PlanOptions = {},
  between?: (table: StateTable, plan: Plan) => void | Promise<void>, exec: ExecuteOptions = {}): Promise<Outcome> {
  const table = await openTable({ sim: { file: fixture(name) } });
  try {
    const plan = await table.plan(selections, opts);
    const snap = table.lastSnapshot!;
    const before = sorted(Array.from({ length: snap.count }, (_, i) => short(decodeState(snap.bytes, i, snap.layout).id)));
    await between?.(table, plan);
    const report = await table.execute(plan, exec);
    const alive = await aliveIds(table);
    return {
      plan,
      report,
      planned: [...plannedStates(plan)].map((p) => [short(p.id), p.reason]),
      before,
      killed: before.filter((x) => !alive.includes(x)),
      alive,
    };
  } finally {
    await table.close();
  }
}

/** The report's counts in one object, for one exact comparison. */
const counts = (r: ExecuteResult) => ({
  scanned: r.scanned, selected: r.selected, paired: r.paired, ambiguous: r.ambiguous,
  killed: r.killed, alreadyGone: r.alreadyGone, failed: r.failed, dryRun: r.dryRun,
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('engine scenarios on hand-built pf tables', () => {
  it('two-tier failover: primary down kills its states and their LAN-side partners; the backup\'s survive', async () => {
    const o = await run('two-tier', [{ name: 'GW_WAN1', gateways: [gw('198.51.100.1')] }]);
    expect(o.planned).toEqual([['01', 'selected'], ['03', 'selected'], ['02', 'paired'], ['04', 'paired']]);
    expect(o.killed).toEqual(['01', '02', '03', '04']);
    expect(o.alive).toEqual(['05', '06', '07', '08', '09']);
    expect(counts(o.report)).toEqual({ scanned: 9, selected: 2, paired: 2, ambiguous: 0, killed: 4, alreadyGone: 0, failed: 0, dryRun: false });
    expect(Array.from(o.report.results)).toEqual([0, 0, 0, 0]);
  });

  it('backup fails while the primary is healthy: every primary state survives', async () => {
    const o = await run('two-tier', [{ name: 'GW_WAN2', gateways: [gw('203.0.113.1')] }]);
    expect(o.planned).toEqual([['05', 'selected'], ['06', 'paired']]);
    expect(o.killed).toEqual(['05', '06']);
    expect(o.alive).toEqual(['01', '02', '03', '04', '07', '08', '09']);
    expect(counts(o.report)).toEqual({ scanned: 9, selected: 1, paired: 1, ambiguous: 0, killed: 2, alreadyGone: 0, failed: 0, dryRun: false });
  });

  it('two gateways on one interface: only the failed one\'s states die, never an interface-wide flush', async () => {
    const flush = vi.spyOn(PfBackend.prototype, 'flush');
    const byFilter = vi.spyOn(PfBackend.prototype, 'killByFilter');
    const o = await run('two-gateways-one-interface', [{ name: 'GW_WAN1B', gateways: [gw('198.51.100.254')] }]);
    expect(o.planned).toEqual([['03', 'selected'], ['05', 'selected'], ['04', 'paired']]);
    expect(o.killed).toEqual(['03', '04', '05']);
    // 02 and 06 are on igb0 too (the same interface, the other gateway): they survive.
    expect(o.alive).toEqual(['01', '02', '06']);
    expect(counts(o.report)).toEqual({ scanned: 6, selected: 2, paired: 1, ambiguous: 0, killed: 3, alreadyGone: 0, failed: 0, dryRun: false });
    expect(flush).not.toHaveBeenCalled();
    // pf's own gateway kill may take the plan's gateway part, but only for that one gateway,
    // never by interface.
    expect(byFilter.mock.calls.length).toBeLessThanOrEqual(1);
    for (const [f] of byFilter.mock.calls) {
      expect(f.ifname).toBeUndefined();
      expect(Array.from(f.rtAddr!.addr!.subarray(0, 4))).toEqual([198, 51, 100, 254]);
      expect(Array.from(f.rtAddr!.mask!.subarray(0, 4))).toEqual([255, 255, 255, 255]);
    }
  });

  it('default-routed NAT: no gateway reaches it, the NAT address does, and pairing takes the LAN side', async () => {
    // rt_addr is 0 on every state: the gateway selector finds nothing, whatever the prefix.
    // (A /0 gateway is refused unless forced: it is here on purpose.)
    const none = await run('default-nat', [{ gateways: [gw('198.51.100.1')] }, { gateways: [gw('0.0.0.0/0')] }], { force: true });
    expect(none.planned).toEqual([]);
    expect(none.killed).toEqual([]);
    expect(counts(none.report)).toEqual({ scanned: 6, selected: 0, paired: 0, ambiguous: 0, killed: 0, alreadyGone: 0, failed: 0, dryRun: false });

    const o = await run('default-nat', [{ name: 'WAN1 NAT', natAddrs: [gw('198.51.100.2')] }]);
    expect(o.planned).toEqual([['02', 'selected'], ['04', 'selected'], ['01', 'paired'], ['03', 'paired']]);
    expect(o.killed).toEqual(['01', '02', '03', '04']);
    expect(o.alive).toEqual(['05', '06']);
    expect(counts(o.report)).toEqual({ scanned: 6, selected: 2, paired: 2, ambiguous: 0, killed: 4, alreadyGone: 0, failed: 0, dryRun: false });

    // Without pairing only the NAT states go; the LAN-side states stay.
    const unpaired = await run('default-nat', [{ natAddrs: [gw('198.51.100.2')] }], { pair: false });
    expect(unpaired.killed).toEqual(['02', '04']);
    expect(unpaired.alive).toEqual(['01', '03', '05', '06']);
  });

  it("inbound port-forward with reply-to on the failed WAN: 'kernel+stack' takes the inside state, 'kernel' does not", async () => {
    const both = await run('port-forward', [{ gateways: [gw('198.51.100.1')] }], { pairRule: 'kernel+stack' });
    expect(both.planned).toEqual([['01', 'selected'], ['02', 'paired']]);
    expect(both.killed).toEqual(['01', '02']);
    expect(both.alive).toEqual(['03', '04']);

    const kernel = await run('port-forward', [{ gateways: [gw('198.51.100.1')] }], { pairRule: 'kernel' });
    expect(kernel.planned).toEqual([['01', 'selected']]);
    expect(kernel.killed).toEqual(['01']);
    expect(kernel.alive).toEqual(['02', '03', '04']);
    expect(counts(kernel.report)).toEqual({ scanned: 4, selected: 1, paired: 0, ambiguous: 0, killed: 1, alreadyGone: 0, failed: 0, dryRun: false });

    // 'kernel' is what the kernel itself does: pfctl -M -k gateway -k 198.51.100.1 kills only 01 too.
    const table = await openTable({ sim: { file: fixture('port-forward') } });
    try {
      const a = gw('198.51.100.1');
      const n = (table.backend as PfBackend).killByFilter({
        af: 2, killMatch: true, rtAddr: { addr: parseAddr(a.addr)!.bytes, mask: prefixMask('inet', 32) },
      });
      expect(n).toBe(1);
      expect(await aliveIds(table)).toEqual(['02', '03', '04']);
    } finally {
      await table.close();
    }
  });

  it('firewall-originated states: killed alone (no partner); routing-table ones only through the NAT address', async () => {
    const o = await run('firewall-originated', [{ gateways: [gw('198.51.100.1')] }]);
    expect(o.planned).toEqual([['01', 'selected']]);
    expect(o.killed).toEqual(['01']);
    expect(o.alive).toEqual(['02', '03', '04']);
    expect(counts(o.report)).toEqual({ scanned: 4, selected: 1, paired: 0, ambiguous: 0, killed: 1, alreadyGone: 0, failed: 0, dryRun: false });

    const nat = await run('firewall-originated', [{ natAddrs: [gw('198.51.100.2')] }]);
    expect(nat.planned).toEqual([['01', 'selected'], ['03', 'selected']]);
    expect(nat.killed).toEqual(['01', '03']);
    expect(nat.alive).toEqual(['02', '04']);
  });

  it('LAN-to-LAN states and states to the firewall itself always survive, even when every WAN fails', async () => {
    const o = await run('lan-and-self', [
      { name: 'all gateways', gateways: [gw('198.51.100.1'), gw('203.0.113.1')] },
      { name: 'all NAT addresses', natAddrs: [gw('198.51.100.2'), gw('203.0.113.2')] },
    ]);
    expect(o.planned).toEqual([['06', 'selected'], ['07', 'selected'], ['08', 'selected'], ['09', 'selected']]);
    expect(Array.from(o.plan.selectionMask)).toEqual([1, 2, 1, 2]);
    expect(o.killed).toEqual(['06', '07', '08', '09']);
    expect(o.alive).toEqual(['01', '02', '03', '04', '05']);
    expect(counts(o.report)).toEqual({ scanned: 9, selected: 4, paired: 0, ambiguous: 0, killed: 4, alreadyGone: 0, failed: 0, dryRun: false });
  });

  it('IPv4 gateway down with IPv6 up on the same WAN: only the IPv4 states die', async () => {
    const o = await run('dual-stack', [{ name: 'GW_WAN1 (IPv4)', gateways: [gw('198.51.100.1')] }]);
    expect(o.planned).toEqual([['01', 'selected'], ['06', 'selected'], ['02', 'paired']]);
    expect(o.killed).toEqual(['01', '02', '06']);
    expect(o.alive).toEqual(['03', '04', '05']);

    // The same with the interface named: the IPv6 states on igb0 still survive (af is part of the selection).
    const byIf = await run('dual-stack', [{ interfaces: ['igb0'], af: 'inet' }]);
    expect(byIf.planned).toEqual([['02', 'selected'], ['06', 'selected'], ['01', 'paired']]);
    expect(byIf.killed).toEqual(['01', '02', '06']);
    expect(byIf.alive).toEqual(['03', '04', '05']);
  });

  it('an IPv6 link-local gateway on two interfaces: fe80::1%igb0 kills only igb0\'s states', async () => {
    expect(gw('fe80::1%igb0')).toEqual({ af: 'inet6', addr: 'fe80::1', prefix: 128, ifname: 'igb0' });
    const o = await run('link-local', [{ name: 'GW_WAN1_V6', gateways: [gw('fe80::1%igb0')] }]);
    expect(o.planned).toEqual([['01', 'selected'], ['05', 'selected'], ['02', 'paired']]);
    expect(o.killed).toEqual(['01', '02', '05']);
    expect(o.alive).toEqual(['03', '04', '06']);
    expect(counts(o.report)).toEqual({ scanned: 6, selected: 2, paired: 1, ambiguous: 0, killed: 3, alreadyGone: 0, failed: 0, dryRun: false });

    const other = await run('link-local', [{ gateways: [gw('fe80::1%igb3')] }]);
    expect(other.killed).toEqual(['03', '04', '06']);
    expect(other.alive).toEqual(['01', '02', '05']);

    // Unscoped, the address alone names both routers: everything goes. This is why the scope matters,
    // and why an unscoped link-local gateway is refused unless forced.
    await expect(run('link-local', [{ gateways: [gw('fe80::1')] }])).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
    const unscoped = await run('link-local', [{ gateways: [gw('fe80::1')] }], { force: true });
    expect(unscoped.killed).toEqual(['01', '02', '03', '04', '05', '06']);
    expect(unscoped.alive).toEqual([]);
  });

  it('ambiguous partners are reported, not killed by default, and killed with killAmbiguous', async () => {
    const o = await run('ambiguous', [{ gateways: [gw('198.51.100.1')] }]);
    expect(o.planned).toEqual([['01', 'selected'], ['04', 'selected'], ['05', 'paired'], ['02', 'ambiguous'], ['03', 'ambiguous']]);
    expect(Array.from(o.plan.indices)).toEqual([0, 3, 4]);
    expect(Array.from(o.plan.ambiguous)).toEqual([1, 2]);
    expect(o.plan.killAmbiguous).toBe(false);
    expect(o.killed).toEqual(['01', '04', '05']);
    expect(o.alive).toEqual(['02', '03', '06', '07']);
    expect(counts(o.report)).toEqual({ scanned: 7, selected: 2, paired: 1, ambiguous: 2, killed: 3, alreadyGone: 0, failed: 0, dryRun: false });

    const k = await run('ambiguous', [{ gateways: [gw('198.51.100.1')] }], { killAmbiguous: true });
    expect(k.planned).toEqual([['01', 'selected'], ['04', 'selected'], ['05', 'paired'], ['02', 'ambiguous'], ['03', 'ambiguous']]);
    expect(Array.from(k.plan.indices)).toEqual([0, 3, 4, 1, 2]);
    expect(Array.from(k.plan.reasons)).toEqual([0, 0, 1, 2, 2]);
    expect(k.killed).toEqual(['01', '02', '03', '04', '05']);
    expect(k.alive).toEqual(['06', '07']);
    expect(counts(k.report)).toEqual({ scanned: 7, selected: 2, paired: 1, ambiguous: 2, killed: 5, alreadyGone: 0, failed: 0, dryRun: false });
  });

  const dropPartner = (table: StateTable, plan: Plan) => {
    // The kernel drops 02 (the NAT partner of 01) on its own, after the plan was made.
    const at = plan.indices.indexOf(1); // snapshot index of 02
    expect(at).toBe(2);
    const out = new Int32Array(1);
    table.backend.kill(table.lastSnapshot!, Int32Array.of(1), out);
    expect(out[0]).toBe(0);
  };

  it('a state that vanishes between plan and execute counts as already gone, not as a failure', async () => {
    const o = await run('two-tier', [{ gateways: [gw('198.51.100.1')] }], {}, dropPartner, { pfFilterKill: false });
    expect(o.planned).toEqual([['01', 'selected'], ['03', 'selected'], ['02', 'paired'], ['04', 'paired']]);
    expect(Array.from(o.report.results)).toEqual([0, 0, 1, 0]);
    expect(counts(o.report)).toEqual({ scanned: 9, selected: 2, paired: 2, ambiguous: 0, killed: 3, alreadyGone: 1, failed: 0, dryRun: false });
    expect(o.killed).toEqual(['01', '02', '03', '04']);
    expect(o.alive).toEqual(['05', '06', '07', '08', '09']);
  });

  it("...and through pf's own gateway kill: the same counts; the disagreeing count is confirmed by id", async () => {
    const o = await run('two-tier', [{ gateways: [gw('198.51.100.1')] }], {}, dropPartner);
    expect(o.report.killPath).toMatchObject({ path: 'kernel-filter', planned: 4, counted: 3, countMatches: false });
    // Each planned state was gone when confirmed (three by the filter kill, 02 before it).
    expect(Array.from(o.report.results)).toEqual([1, 1, 1, 1]);
    expect(counts(o.report)).toEqual({ scanned: 9, selected: 2, paired: 2, ambiguous: 0, killed: 3, alreadyGone: 1, failed: 0, dryRun: false });
    expect(o.killed).toEqual(['01', '02', '03', '04']);
    expect(o.alive).toEqual(['05', '06', '07', '08', '09']);
  });

  it('a partner that was itself selected is counted once', async () => {
    // dst 1.1.1.1 selects both halves of the connection: 01 (IN, dst = addr[1]) and 02 (OUT, dst = addr[0]).
    const o = await run('two-tier', [{ dst: gw('1.1.1.1') }]);
    expect(o.planned).toEqual([['01', 'selected'], ['02', 'selected']]);
    expect(Array.from(o.plan.indices)).toEqual([0, 1]);
    expect(o.killed).toEqual(['01', '02']);
    expect(o.alive).toEqual(['03', '04', '05', '06', '07', '08', '09']);
    expect(counts(o.report)).toEqual({ scanned: 9, selected: 2, paired: 0, ambiguous: 0, killed: 2, alreadyGone: 0, failed: 0, dryRun: false });
  });

  it('several selections in one pass: each state once, with the bits of the selections it matched', async () => {
    const o = await run('two-tier', [
      { name: 'GW_WAN1', gateways: [gw('198.51.100.1')] }, //         bit 1
      { name: 'WAN1 NAT', natAddrs: [gw('198.51.100.2')] }, //        bit 2
      { name: 'udp', proto: 17 }, //                                   bit 4
      { name: 'GW_WAN2 tcp', gateways: [gw('203.0.113.1')], proto: 6 }, // bit 8
      { name: 'WAN2 NAT udp', natAddrs: [gw('203.0.113.2')], proto: 17 }, // bit 16: matches nothing (06 is tcp)
    ]);
    expect(o.planned).toEqual([
      ['01', 'selected'], ['02', 'selected'], ['03', 'selected'], ['04', 'selected'], ['05', 'selected'], ['06', 'paired'],
    ]);
    expect(Array.from(o.plan.selectionMask)).toEqual([1, 2, 1 | 4, 2 | 4, 8, 0]);
    expect(o.plan.selections.map((s) => s.name)).toEqual(['GW_WAN1', 'WAN1 NAT', 'udp', 'GW_WAN2 tcp', 'WAN2 NAT udp']);
    expect(o.killed).toEqual(['01', '02', '03', '04', '05', '06']);
    expect(o.alive).toEqual(['07', '08', '09']);
    expect(counts(o.report)).toEqual({ scanned: 9, selected: 5, paired: 1, ambiguous: 0, killed: 6, alreadyGone: 0, failed: 0, dryRun: false });
  });

  it('ids and creatorids in the plan are the kernel\'s own', async () => {
    const o = await run('two-tier', [{ gateways: [gw('203.0.113.1')] }]);
    expect([...plannedStates(o.plan)]).toEqual([
      { id: idHex('05'), creatorid: '0badc0de', reason: 'selected' },
      { id: idHex('06'), creatorid: '0badc0de', reason: 'paired' },
    ]);
  });
});

