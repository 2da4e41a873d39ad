/**
 * Issue 10 item 13: `event`/`watch --backend conntrack` could never kill: the policy handed pf
 * selections (next hops, NAT addresses) to conntrack. Gateways now carry a conntrack selector
 * (`conntrack: {mark, replyDst, zone}`), a failover kills with it, and a config without one is refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { native } from '../src/native/index.js';
import { parseConfig, type PolicyConfig } from '../src/policy/config.js';
import { conntrackFailoverSelections, killerForTarget } from '../src/policy/conntrack.js';
import { engineKiller } from '../src/policy/engine-killer.js';
import { Watcher } from '../src/policy/watcher.js';
import { BIN, run } from './cli-run.js';
import { ctNamespace, netnsUnavailable } from './conntrack-netns.js';
import { dumpAll, insertEntries, tupleKey, type EntrySpec } from './conntrack-fill.js';


const GATEWAYS = `
  - name: WAN1
    interface: wan1
    address: 100.64.1.1
    conntrack: { mark: '0x100/0xff00', replyDst: 100.64.1.2 }
  - name: WAN2
    interface: wan2
    address: 100.64.2.1
    conntrack: { mark: 0x200/0xff00, replyDst: { inet: 100.64.2.2 }, zone: 0 }
`;
const GROUPS = `
groups:
  - name: FAILOVER
    members: [{ gateway: WAN1, tier: 1 }, { gateway: WAN2, tier: 2 }]
`;

function config(text: string): PolicyConfig {
  return parseConfig(parseYaml(text));
}

describe('gateway conntrack selectors in the config (no kernel)', () => {
  it('parses mark (text or number), replyDst (one or per family) and zone, and builds OR-ed selections', () => {
    const c = config(`gateways:${GATEWAYS}`);
    expect(c.gateways[0].conntrack).toEqual({ mark: { value: 0x100, mask: 0xff00 }, replyDst: [{ af: 'inet', addr: '100.64.1.2', prefix: 32 }] });
    expect(conntrackFailoverSelections(c.gateways[1])).toEqual([
      { name: 'gateway WAN2 conntrack mark', mark: { value: 0x200, mask: 0xff00 }, zone: 0 },
      { name: 'gateway WAN2 reply destination', replyDst: { af: 'inet', addr: '100.64.2.2', prefix: 32 }, zone: 0 },
    ]);
    const n = config('gateways: [{ name: A, interface: a, address: 10.0.0.1, conntrack: { mark: 256 } }]');
    expect(n.gateways[0].conntrack?.mark).toEqual({ value: 256, mask: 0xffffffff });
  });

  it('refuses inexact or empty selectors, naming the key path', () => {
    const bad = (ct: string) => () => config(`gateways: [{ name: A, interface: a, address: 10.0.0.1, conntrack: ${ct} }]`);
    expect(bad("{ mark: '0x1ff/0xff00' }")).toThrow(/gateways\[0\]\.conntrack\.mark: mark value 0x1ff has bits outside mask 0xff00/);
    expect(bad("{ mark: '0x100/0' }")).toThrow(/conntrack\.mark: mark mask 0 matches every entry/);
    expect(bad("{ mark: '' }")).toThrow(/conntrack\.mark: expected VALUE\[\/MASK\]/);
    expect(bad("{ mark: '0x100/0xff00/1' }")).toThrow(/conntrack\.mark/);
    expect(bad('{}')).toThrow(/gateways\[0\]\.conntrack: expected at least one of mark, replyDst/);
    expect(bad('{ replyDst: 100.64.1.0/24 }')).toThrow(/conntrack\.replyDst: expected a host address/);
    expect(bad("{ replyDst: '' }")).toThrow(/conntrack\.replyDst/);
    expect(bad('{ mark: 1, zone: 65536 }')).toThrow(/conntrack\.zone: expected a zone 0-65535/);
    expect(bad('{ mark: 1, table: 5 }')).toThrow(/conntrack\.table: unknown key/);
  });

  it('with the conntrack backend, a gateway without a selector or a failback kill is refused up front', () => {
    const inner = async () => { throw new Error('must not run'); };
    const noSel = config('gateways: [{ name: A, interface: a, address: 10.0.0.1 }, { name: B, interface: b, address: 10.0.1.1, conntrack: { mark: 1 } }]');
    expect(() => killerForTarget({ conntrack: true }, inner, () => noSel)).toThrow(/gateways\[0\] \(A\) has no conntrack selector/);
    expect(killerForTarget({ device: '/dev/pf' } as { conntrack?: unknown }, inner, () => noSel)).toBe(inner);
    const failback = config(`gateways:${GATEWAYS}${GROUPS}    failback: kill\n    failbackRules: [10]\n`);
    expect(() => killerForTarget({ conntrack: true }, inner, () => failback)).toThrow(/groups\[0\] \(FAILOVER\) has failback: kill/);
  });
});

const why = netnsUnavailable();
if (why) console.log(`conntrack-policy: skipping the real-kernel part: ${why}`);

/** WAN1: marked entries (v4 and routed v6) and NATed unmarked ones; WAN2 the same; nothing else selects. */
function table(): EntrySpec[] {
  const out: EntrySpec[] = [];
  let port = 20000;
  const add = (e: Omit<EntrySpec, 'srcPort' | 'dstPort'>, n: number) => {
    for (let i = 0; i < n; i++) out.push({ ...e, srcPort: port, dstPort: 443, replyDstPort: e.replyDst ? port : undefined, ...(port++, {}) });
  };
  add({ af: 4, proto: 6, src: '10.0.0.10', dst: '192.0.2.80', replyDst: '100.64.1.2', mark: 0x101 }, 5);
  add({ af: 4, proto: 17, src: '10.0.0.11', dst: '192.0.2.53', replyDst: '100.64.1.2', mark: 0 }, 3); // router-originated, unmarked
  add({ af: 6, proto: 6, src: 'fd00::10', dst: '2001:db8::80', mark: 0x1ff }, 4); // routed IPv6
  add({ af: 4, proto: 6, src: '10.0.0.10', dst: '192.0.2.80', replyDst: '100.64.2.2', mark: 0x201 }, 6);
  add({ af: 4, proto: 17, src: '10.0.0.11', dst: '192.0.2.53', replyDst: '100.64.2.2', mark: 0 }, 2);
  add({ af: 6, proto: 6, src: 'fd00::10', dst: '2001:db8::80', mark: 0x2ff }, 3);
  add({ af: 4, proto: 6, src: '10.0.0.10', dst: '10.0.5.5', mark: 0 }, 2); // LAN to LAN: no WAN's
  return out;
}
/** The independent model of "WAN1's entries": mark 0x1xx under 0xff00, or replying to 100.64.1.2. */
const isWan1 = (e: EntrySpec) => ((e.mark ?? 0) & 0xff00) === 0x100 || e.replyDst === '100.64.1.2';

describe.skipIf(why !== null)('event/watch --backend conntrack kill exactly the failed WAN\'s entries (real kernel, own netns)', () => {
  const { ns, fd } = ctNamespace('pol');
  const dir = mkdtempSync(join(tmpdir(), 'sk-ctpol-'));
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const event = (cfg: string, ...extra: string[]) =>
    run('ip', ['netns', 'exec', ns, process.execPath, BIN, 'event', '--backend', 'conntrack', '--config', cfg,
      '--state', join(mkdtempSync(join(dir, 's')), 'state.json'), '--no-wait', '--gateway', 'WAN1', '--status', 'down',
      '--gateway-status', 'WAN2=up', ...extra]);
  const expectLeft = (keep: (e: EntrySpec) => boolean) =>
    expect(dumpAll(fd()).map(tupleKey).sort()).toEqual(table().filter(keep).map((e) => tupleKey({ zone: 0, ...e })).sort());

  beforeEach(() => {
    native.ctFlushAll(fd());
    insertEntries(fd(), table());
  });

  it('`event --backend conntrack`: WAN1 down kills WAN1\'s marked and NATed entries, nothing of WAN2 or the LAN', async () => {
    const cfg = write('ok.yaml', `gateways:${GATEWAYS}${GROUPS}`);
    const dry = await event(cfg, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would kill 12 states/);
    expect(dumpAll(fd())).toHaveLength(table().length);
    const r = await event(cfg, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.outcomes[0].reports[0]).toMatchObject({ killed: 12, failed: 0, dryRun: false });
    expectLeft((e) => !isWan1(e));
  });

  it('refuses (exit 2, nothing killed) a config whose gateways lack a conntrack selector, or with failback: kill', async () => {
    const noSel = write('nosel.yaml', `gateways:\n  - { name: WAN1, interface: wan1, address: 100.64.1.1 }\n  - { name: WAN2, interface: wan2, address: 100.64.2.1 }\n${GROUPS}`);
    const a = await event(noSel);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/gateways\[0\] \(WAN1\), gateways\[1\] \(WAN2\) have no conntrack selector/);
    const fb = write('fb.yaml', `gateways:${GATEWAYS}${GROUPS}    failback: kill\n`);
    const b = await event(fb);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/failback/);
    expect(dumpAll(fd())).toHaveLength(table().length);
  });

  it('the watch loop kills through the same selectors when a dpinger sample says WAN1 is down', async () => {
    const cfg = config(`gateways:${GATEWAYS.replace(/address: (100\.64\.\d\.1)\n/g, (_, a) => `address: ${a}\n    monitor: { socket: /nonexistent/${a}.sock }\n`)}${GROUPS}`);
    const target = { conntrack: { netns: ns } };
    const samples: Record<string, string> = { '/nonexistent/100.64.1.1.sock': '1000 100 0', '/nonexistent/100.64.2.1.sock': '1000 100 0' };
    const logs: string[] = [];
    const w = new Watcher(cfg, {
      killer: killerForTarget(target, engineKiller(target), () => cfg),
      log: (_l, m) => logs.push(m),
      readSocket: async (p) => {
        const [lat, sd, loss] = samples[p].split(' ').map(Number);
        return { latencyUs: lat, stddevUs: sd, lossPercent: loss };
      },
    });
    await w.tick(); // baseline: both up
    expect(dumpAll(fd())).toHaveLength(table().length);
    samples['/nonexistent/100.64.1.1.sock'] = '0 0 100';
    await w.tick();
    expect(logs.join('\n')).toMatch(/WAN1: killed 12 states/);
    expectLeft((e) => !isWan1(e));
  });
});
