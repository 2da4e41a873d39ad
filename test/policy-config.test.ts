/** The policy config: defaults, every kind of error with its key path, and nothing killed on a bad config. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { loadConfig, parseConfig } from '../src/policy/config.js';

const FIXTURE = new URL('./fixtures/policy/dual-wan.yaml', import.meta.url).pathname;
const gw = (over: Record<string, unknown> = {}) => ({ name: 'WAN1', interface: 'igb0', address: '198.51.100.1', ...over });

function errorOf(doc: unknown): string {
  try {
    parseConfig(doc);
  } catch (e) {
    expect((e as { code: string }).code).toBe('E_BAD_INPUT');
    return (e as Error).message;
  }
  throw new Error('config was accepted');
}

describe('policy config', () => {
  it('loads the YAML fixture with defaults filled in', () => {
    const c = loadConfig(FIXTURE);
    expect(c.product).toBe('pfsense');
    expect(c.holdDownSeconds).toBe(30);
    expect(c.gateways.map((g) => g.name)).toEqual(['WAN1', 'WAN2', 'LTE', 'WAN1_V6']);
    expect(c.gateways[0].addresses).toEqual([{ af: 'inet', addr: '198.51.100.1', prefix: 32 }]);
    expect(c.gateways[0].natAddresses).toEqual([{ af: 'inet', addr: '198.51.100.2', prefix: 32 }]);
    expect(c.gateways[0].thresholds).toEqual({ latencyLowMs: 200, latencyHighMs: 500, lossLowPercent: 10, lossHighPercent: 20 });
    // An IPv6 link-local gateway is scoped to its interface.
    expect(c.gateways[3].addresses).toEqual([{ af: 'inet6', addr: 'fe80::1', prefix: 128, ifname: 'igb0' }]);
    expect(c.groups[0]).toEqual({
      name: 'FAILOVER', trigger: 'down', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN2', tier: 2 }],
      killOnDown: true, requireViableTarget: true, failback: 'kill', failbackRules: [10], failbackLabels: [], holdDownSeconds: 30,
    });
    expect(c.status).toEqual({ source: 'dpinger', pluginctl: '/usr/local/sbin/pluginctl', dpingerDir: '/var/run', routerDir: '/tmp', noDataWaitSeconds: 5 });
    expect(c.log).toEqual({ syslog: false, facility: 'daemon', tag: 'statekill' });
    expect(c.groups[1].failback).toBe('keep');
  });

  it('takes one address per family and JSON as well as YAML', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ gateways: [gw({ address: { inet: '198.51.100.1', inet6: '2001:db8::1' } })] }));
    expect(loadConfig(file).gateways[0].addresses).toEqual([
      { af: 'inet', addr: '198.51.100.1', prefix: 32 },
      { af: 'inet6', addr: '2001:db8::1', prefix: 128 },
    ]);
  });

  it('reads OPNsense statuses through pluginctl, others from dpinger sockets found by name', () => {
    const c = parseConfig({ product: 'opnsense', gateways: [gw()] });
    expect(c.status.source).toBe('opnsense');
    expect(c.gateways[0].socket).toBeUndefined();
    expect(parseConfig({ product: 'pfsense', gateways: [gw()] }).status.source).toBe('dpinger');
    expect(parseConfig({ product: 'opnsense', status: { source: 'dpinger' }, gateways: [gw()] }).status.source).toBe('dpinger');
  });

  it('takes `dynamic` addresses (discovered at event time) per family', () => {
    const c = parseConfig({ gateways: [gw({ address: 'dynamic', natAddress: 'dynamic' }), gw({ name: 'V6', address: { inet6: 'dynamic' } })] });
    expect(c.gateways[0]).toMatchObject({ addresses: [], dynamic: ['inet'], natAddresses: [], dynamicNat: ['inet'] });
    expect(c.gateways[1]).toMatchObject({ addresses: [], dynamic: ['inet6'] });
  });

  it.each([
    [{ gateways: [gw()], groups: [{ name: 'G', members: [{ gateway: 'WAN1', tier: 1 }, { gateway: 'WAN1', tier: 0 }] }] },
      'config: groups[0].members[1].tier: expected a positive integer'],
    [{ gateways: [gw()], groups: [{ name: 'G', members: [{ gateway: 'WAN9', tier: 1 }] }] },
      "config: groups[0].members[0].gateway: unknown gateway 'WAN9' (not in gateways)"],
    [{ gateways: [gw(), gw()] }, "config: gateways[1].name: duplicate gateway name 'WAN1' (also gateways[0])"],
    // As a key of the memory file's objects it set their prototype: the gateway was never remembered
    // (every event killed again, hold-down never held).
    [{ gateways: [gw({ name: '__proto__' })] }, "config: gateways[0].name: '__proto__' cannot be a gateway name (it is not a plain key in the policy memory)"],
    [{ gateways: [gw({ address: '198.51.100.300' })] }, "config: gateways[0].address: '198.51.100.300' is not an IPv4 or IPv6 address"],
    [{ gateways: [gw({ address: '198.51.100.0/24' })] }, "config: gateways[0].address: expected a host address without a prefix length, got '198.51.100.0/24'"],
    [{ gateways: [gw({ interface: undefined })] }, 'config: gateways[0].interface: required'],
    [{ gateways: [gw({ priority: 0 })] }, 'config: gateways[0].priority: expected an integer 1-255'],
    [{ gateways: [gw({ monitor: { latencyLowMs: 600 } })] }, 'config: gateways[0].monitor.latencyLowMs: must not exceed latencyHighMs (500)'],
    [{ gateways: [gw()], groups: [{ name: 'G', trigger: 'latency', members: [{ gateway: 'WAN1', tier: 1 }] }] },
      'config: groups[0].trigger: expected one of down, downloss, downlatency, downlosslatency'],
    [{ gateways: [gw()], groups: [{ name: 'G', failback: 'maybe', members: [{ gateway: 'WAN1', tier: 1 }] }] }, 'config: groups[0].failback: expected keep or kill'],
    [{ gateways: [gw({ tier: 1 })] }, 'config: gateways[0].tier: unknown key'],
    [{ gateways: [] }, 'config: gateways: expected at least one gateway'],
    [{}, 'config: gateways: required'],
    [{ gateways: [gw()], carp: { vhid: 300 } }, 'config: carp.vhid: expected a VHID 1-255'],
    [{ gateways: [gw()], holdDownSeconds: -1 }, 'config: holdDownSeconds: expected seconds >= 0'],
    // pf rule numbers are 32 bits: 2^32+10 would wrap to rule 10 (#10 item 21).
    [{ gateways: [gw({ failbackRules: [4294967306] })] }, 'config: gateways[0].failbackRules[0]: expected a rule number 0-4294967294'],
    [{ gateways: [gw()], groups: [{ name: 'G', failbackRules: [2 ** 32], members: [{ gateway: 'WAN1', tier: 1 }] }] }, 'config: groups[0].failbackRules[0]: expected a rule number 0-4294967294'],
    // 0xffffffff is pf's "no rule": the engine refuses it, so a config taking it made a failback kill
    // that failed at every event and stayed pending for ever.
    [{ gateways: [gw({ failbackRules: [4294967295] })] }, 'config: gateways[0].failbackRules[0]: expected a rule number 0-4294967294'],
    // setTimeout turns anything above 2^31-1 ms into 1 ms: a busy loop (#10 item 20).
    [{ gateways: [gw()], watch: { intervalMs: 2 ** 31 } }, 'config: watch.intervalMs: expected milliseconds 1-2147483647'],
    [{ gateways: [gw({ address: { inet: '2001:db8::1' } })] }, "config: gateways[0].address.inet: '2001:db8::1' is not an IPv4 address"],
    [{ gateways: [gw()], log: { facility: 'kern' } }, 'config: log.facility: expected one of daemon, user, local0, local1, local2, local3, local4, local5, local6, local7'],
    [{ gateways: [gw()], groups: [{ name: 'G', failbackLabels: ['x'.repeat(64)], members: [{ gateway: 'WAN1', tier: 1 }] }] }, 'config: groups[0].failbackLabels[0]: expected a rule label of at most 63 bytes'],
    // pf counts bytes (PF_RULE_LABEL_SIZE), as the engine's --label check does: 32 'é' are 64 bytes.
    [{ gateways: [gw()], groups: [{ name: 'G', failbackLabels: ['é'.repeat(32)], members: [{ gateway: 'WAN1', tier: 1 }] }] }, 'config: groups[0].failbackLabels[0]: expected a rule label of at most 63 bytes'],
  ])('rejects %j with one message naming the key path', (doc, message) => {
    expect(errorOf(doc)).toBe(message);
  });

  it('a bad config file makes `event` exit 2 with the message, before any kill is attempted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-cfg-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'gateways:\n  - name: WAN1\n    interface: igb0\n    address: 198.51.100.1\ngroups:\n  - name: G\n    members:\n      - { gateway: WAN1, tier: -2 }\n');
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    try {
      // --sim names a table that does not exist: reaching the engine would fail differently (exit 1).
      const code = await main(['node', 'statekill', 'event', '--gateway', 'WAN1', '--status', 'down', '--config', file,
        '--state', join(dir, 'state.json'), '--sim', join(dir, 'missing.jsonl'), '--no-wait']);
      expect(code).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(err.join('')).toBe('statekill: config: groups[0].members[0].tier: expected a positive integer\n');
  });

  it('names an unreadable file and a YAML syntax error', () => {
    expect(() => loadConfig('/nonexistent/statekill.yaml')).toThrow(/^config: cannot read \/nonexistent\/statekill.yaml: /);
    const dir = mkdtempSync(join(tmpdir(), 'sk-cfg-'));
    writeFileSync(join(dir, 'x.yaml'), 'gateways: [\n');
    expect(() => loadConfig(join(dir, 'x.yaml'))).toThrow(/^config: .*x\.yaml is not valid YAML\/JSON: /);
  });
});
