/**
 * Issue #12's findings, each on the simulated personality of the real kernel that shows it:
 * 1 the GETSTATES af-into-proto defect, 2 FreeBSD 15's next hop of the other family (PF_ST_RT_AF),
 * 3 af-to (NAT64) states' per-key families, 4 14.0's missing psk_nat, 5 the NV port array; and
 * #10 item 21 (a 2 GiB read holding exactly 5,592,405 export records).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { PfBackend } from '../src/backends/pf.js';
import { PfNetlinkBackend } from '../src/backends/pf-netlink.js';
import { createSimKernel } from '../src/backends/sim.js';
import { openTable, plannedStates } from '../src/index.js';
import { closeSelectPool } from '../src/engine/select.js';
import { maxReadBytes, readCapacity } from '../src/backends/pf-read-size.js';
import { records, setNextHop, setStackKey, idHex, R } from './pf-records.js';
import { decodeState } from '../src/table/records.js';
import { jsonLines, parseJsonl } from '../src/table/jsonl.js';
import type { Selection } from '../src/engine/types.js';

afterAll(closeSelectPool);

const GW = '198.51.100.1';
const gateway = (addr: string, prefix = 32, ifname?: string): Selection =>
  ({ gateways: [{ af: addr.includes(':') ? 'inet6' : 'inet', addr, prefix, ...(ifname ? { ifname } : {}) }] });

describe('finding 1: a GETSTATES that parses PF_ST_AF into the proto filter', () => {
  const sim = () => createSimKernel({ generate: { states: 20000, seed: 3 }, version: 14, quirkNames: ['af-into-proto'] });

  it('an af filter alone would leave only protocol 2 on such a kernel; PROTO is always sent after it', () => {
    const k = sim();
    const nl = new native.PfNetlink(k);
    nl.startRead({ af: 2 });
    const view = new Uint8Array(30000 * R);
    let n = 0;
    for (let r = nl.readChunk(view.subarray(n * R)); ; r = nl.readChunk(view.subarray(n * R))) {
      n += r.records;
      if (r.done) break;
    }
    // With PROTO 0 after AF the defect turns the filter off: every state, none lost.
    expect(n).toBe(20000);
    nl.close();
  });

  it('a gateway kill over netlink selects the same states as over the ioctls (no family filter)', async () => {
    const viaNl = await openTable({ sim: sim(), transport: 'netlink' });
    const viaIoctl = await openTable({ sim: sim(), transport: 'ioctl' });
    const a = await viaNl.plan([gateway(GW)]), b = await viaIoctl.plan([gateway(GW)]);
    expect(b.counts.selected).toBeGreaterThan(100);
    expect(a.counts).toEqual(b.counts);
    expect(a.scanned).toBe(20000);
    await viaNl.close();
    await viaIoctl.close();
  });
});

// Connection A of the small table, routed to an IPv6 next hop of WAN igb0 (RFC 8950).
const V4_VIA_V6 = [
  { id: '00000000000000a1', creatorid: '0badc0de', ifname: 'igb1', af: 'inet', proto: 'tcp', direction: 'in',
    key: [{ addr: ['192.168.1.10', '1.1.1.1'], port: [40000, 443] }, { addr: ['192.168.1.10', '1.1.1.1'], port: [40000, 443] }],
    rt: 'route-to', rt_ifname: 'igb0', rule: 10 },
  { id: '00000000000000a2', creatorid: '0badc0de', ifname: 'igb0', af: 'inet', proto: 'tcp', direction: 'out',
    key: [{ addr: ['1.1.1.1', '198.51.100.2'], port: [443, 50000] }, { addr: ['1.1.1.1', '192.168.1.10'], port: [443, 40000] }], rule: 10 },
  // An IPv4 state whose next hop 254.128.0.0 shares fe80::'s first four bytes: never the same gateway.
  { id: '00000000000000a3', creatorid: '0badc0de', ifname: 'igb1', af: 'inet', proto: 'udp', direction: 'in',
    key: [{ addr: ['192.168.1.11', '9.9.9.9'], port: [5353, 53] }, { addr: ['192.168.1.11', '9.9.9.9'], port: [5353, 53] }],
    rt: 'route-to', rt_addr: '254.128.0.0', rt_ifname: 'igb0', rule: 10 },
];

describe('finding 2: FreeBSD 15 sends the next hop with its own family (PF_ST_RT_AF)', () => {
  const kernel = () => {
    const t = records(V4_VIA_V6);
    setNextHop(t.bytes, 0, 'fe80::1');
    const k = createSimKernel({ version: 15 });
    k.load(t.bytes, 384);
    return k;
  };

  it('the decoder keeps the next hop and its family; the record stays an IPv4 state', async () => {
    const s = await PfNetlinkBackend.onSim(kernel()).read();
    const i = [0, 1, 2].find((j) => idHex(s.bytes, j) === '00000000000000a1')!;
    const rec = s.bytes.subarray(i * R, (i + 1) * R);
    expect(rec[264]).toBe(2); // af inet
    expect(Buffer.from(rec.subarray(184, 200)).toString('hex')).toBe('fe80' + '00'.repeat(13) + '01');
    expect(rec[376] & 0x02).toBe(2); // next hop family known...
    expect(rec[377]).toBe(28); // ...inet6
    expect(decodeState(s.bytes, i, s.layout)).toMatchObject({ af: 'inet', rt_addr: 'fe80::1' }); // list/save show it too
  });

  it('--gateway matches the next hop in its family: fe80::1%igb0 selects the IPv4 state (and its partner)', async () => {
    const t = await openTable({ sim: kernel(), transport: 'netlink' });
    const plan = await t.plan([gateway('fe80::1', 128, 'igb0')]);
    expect(plan.counts).toEqual({ selected: 1, paired: 1, ambiguous: 0 });
    expect([...plannedStates(plan)].map((p) => p.id).sort()).toEqual(['00000000000000a1', '00000000000000a2']);
    // The IPv4 reading of the same bytes is not that gateway; the real 254.128.0.0 next hop is.
    const v4 = await t.plan([gateway('254.128.0.0', 16)]);
    expect([...plannedStates(v4)].filter((p) => p.reason === 'selected').map((p) => p.id)).toEqual(['00000000000000a3']);
    await t.close();
  });

  it("pf's kill filter matches rt_addr in the state's key family, not the next hop's (PF_MATCHA(..., &s->rt_addr, sk->af))", () => {
    // pf_killstates_row in every stored sys/netpfil/pf/pf_ioctl.c (14.0, and 15 with psk_nat)
    // compares the next hop under the chosen key's family: for an IPv4 state routed via an IPv6
    // next hop only its first four bytes count. fe80::1 as a filter therefore also takes the state
    // routed via fe80::2 (both read fe80:0000 as IPv4), and the IPv4 254.128.0.0/16 takes both.
    const t = records(V4_VIA_V6);
    setNextHop(t.bytes, 0, 'fe80::1');
    setNextHop(t.bytes, 2, 'fe80::2');
    const v6 = (s: string) => Buffer.from(s, 'hex');
    for (const [rtAddr, killed] of [
      [{ addr: v6('fe800000000000000000000000000001'), mask: v6('ff'.repeat(16)) }, 2],
      [{ addr: v6('fe800000' + '00'.repeat(12)), mask: v6('ffff0000' + '00'.repeat(12)) }, 2],
    ] as const) {
      const k = createSimKernel({ version: 15 });
      k.load(t.bytes, 384);
      expect(PfNetlinkBackend.onSim(k).killByFilter({ rtAddr })).toBe(killed);
    }
  });

  it("pf's gateway kill is not used where a next hop of the other family reads as the gateway: nothing else dies", async () => {
    // 254.128.0.0/16 selects state a3 only (its IPv4 next hop); pf's filter would also take a1,
    // routed via fe80::1 (and a2 with it by kill_match).
    const k = kernel();
    const t = await openTable({ sim: k, transport: 'netlink' });
    const plan = await t.plan([gateway('254.128.0.0', 16)]);
    expect([...plannedStates(plan)].map((p) => p.id)).toEqual(['00000000000000a3']);
    const r = await t.execute(plan);
    expect(r.killed).toBe(1);
    expect(r.killPath).toMatchObject({ path: 'by-id', reason: expect.stringMatching(/next hop/) });
    const left = await PfNetlinkBackend.onSim(k).read();
    expect([0, 1].map((i) => idHex(left.bytes, i)).sort()).toEqual(['00000000000000a1', '00000000000000a2']);
    await t.close();
  });

  it('auto picks the netlink read on a 15-era kernel even with COMPAT_FREEBSD14 (only it carries these families)', async () => {
    const t = records(V4_VIA_V6);
    setNextHop(t.bytes, 0, 'fe80::1');
    const table = await openTable({ sim: { version: 15, compat14: true, records: { bytes: t.bytes, stride: 384 } } });
    expect(table.describe().paths.read).toBe('netlink GETSTATES');
    const plan = await table.plan([gateway('fe80::1', 128, 'igb0')]);
    expect(plan.counts.selected).toBe(1);
    await table.close();
  });
});

// An af-to (NAT64) state: inbound on the LAN in IPv6, translated to IPv4 (its stack key). The
// partner is an IPv4 state on the WAN; the decoy is an IPv6 state whose key holds the same 16
// bytes as the IPv4 addresses (c633:6402:: is 198.51.100.2's bytes): only the families differ.
const AF_TO = [
  { id: '00000000000000b1', creatorid: '0badc0de', ifname: 'igb1', af: 'inet6', proto: 'tcp', direction: 'in',
    key: [{ addr: ['2001:db8:1::10', '64:ff9b::808:808'], port: [40000, 443] }, { addr: ['2001:db8:1::10', '64:ff9b::808:808'], port: [40000, 443] }],
    rule: 20 },
  { id: '00000000000000b2', creatorid: '0badc0de', ifname: 'igb0', af: 'inet', proto: 'tcp', direction: 'out',
    key: [{ addr: ['8.8.8.8', '198.51.100.2'], port: [443, 40000] }, { addr: ['8.8.8.8', '198.51.100.2'], port: [443, 40000] }], rule: 20 },
  { id: '00000000000000b3', creatorid: '0badc0de', ifname: 'igb0', af: 'inet6', proto: 'tcp', direction: 'out',
    key: [{ addr: ['808:808::', 'c633:6402::'], port: [443, 40000] }, { addr: ['808:808::', 'c633:6402::'], port: [443, 40000] }], rule: 21 },
];

describe('finding 3: af-to states carry a family per key; pairing never crosses families by accident', () => {
  const kernel = () => {
    const t = records(AF_TO);
    setStackKey(t.bytes, 0, ['198.51.100.2', '8.8.8.8'], [40000, 443], 6);
    const k = createSimKernel({ version: 15 });
    k.load(t.bytes, 384);
    return k;
  };
  const sel: Selection = { src: { af: 'inet6', addr: '2001:db8:1::10', prefix: 128 } };

  it('the decoder keeps both keys\' families (PF_STK_AF / PF_STK_PROTO)', async () => {
    const s = await PfNetlinkBackend.onSim(kernel()).read();
    const i = [0, 1, 2].find((j) => idHex(s.bytes, j) === '00000000000000b1')!;
    const o = i * R;
    expect([s.bytes[o + 376] & 1, s.bytes[o + 378], s.bytes[o + 379], s.bytes[o + 380], s.bytes[o + 381]]).toEqual([1, 28, 6, 2, 6]);
    expect(decodeState(s.bytes, i, s.layout).key[1].addr).toEqual(['198.51.100.2', '8.8.8.8']);
  });

  it('the partner is found by the stack key in its own family (IPv4), never the IPv6 state with the same bytes', async () => {
    const t = await openTable({ sim: kernel(), transport: 'netlink' });
    const plan = await t.plan([sel], { workers: 0 });
    expect(plan.counts).toEqual({ selected: 1, paired: 1, ambiguous: 0 });
    expect([...plannedStates(plan)].map((p) => p.id)).toEqual(['00000000000000b1', '00000000000000b2']);
    // pf's own rule (wire key of an inbound state) finds no IPv6 partner: nothing paired, nothing crossed.
    const kernelRule = await t.plan([sel], { pairRule: 'kernel' });
    expect(kernelRule.counts).toEqual({ selected: 1, paired: 0, ambiguous: 0 });
    await t.close();
  });

  it('the simulated kernel matches each key in its own family too (psk_af against the stack key\'s af)', async () => {
    const k = kernel();
    const be = PfNetlinkBackend.onSim(k);
    const v4 = (a: number[]) => Uint8Array.from([...a, ...new Array(12).fill(0)]);
    // IPv4 by the stack key: the af-to state (stack key 198.51.100.2 -> 8.8.8.8) and the WAN state;
    // never the IPv6 state whose bytes read the same.
    expect(be.killByFilter({ af: 2, src: { addr: v4([198, 51, 100, 2]), mask: v4([255, 255, 255, 255]) }, nat: true, killMatch: true })).toBe(2);
    const left = await be.read();
    expect(left.count).toBe(1);
    expect(idHex(left.bytes, 0)).toBe('00000000000000b3');
  });
});

describe('JSON Lines keep the 15-era families (save, list --json, --sim-save and --sim round-trip)', () => {
  const kernel = () => {
    const t = records([...V4_VIA_V6, ...AF_TO]);
    setNextHop(t.bytes, 0, 'fe80::1');
    setStackKey(t.bytes, 3, ['198.51.100.2', '8.8.8.8'], [40000, 443], 6);
    const k = createSimKernel({ version: 15 });
    k.load(t.bytes, 384);
    return k;
  };

  it('the next hop\'s family (rt_af) and each key\'s (key[i].af, .proto) are written, and read back into the same records', async () => {
    const s = await PfNetlinkBackend.onSim(kernel()).read();
    const lines = [...jsonLines(s.bytes, s.count, s.layout)];
    const byId = new Map(lines.map((l) => [JSON.parse(l).id as string, JSON.parse(l)]));
    expect(byId.get('00000000000000a1')).toMatchObject({ af: 'inet', rt_addr: 'fe80::1', rt_af: 'inet6' });
    expect(byId.get('00000000000000b1')).toMatchObject({ af: 'inet6', key: [{ addr: ['2001:db8:1::10', '64:ff9b::808:808'] },
      { af: 'inet', addr: ['198.51.100.2', '8.8.8.8'] }] });
    expect(byId.get('00000000000000b2')).not.toHaveProperty('rt_af');
    expect(byId.get('00000000000000b2')!.key[1]).not.toHaveProperty('af');
    const back = parseJsonl(lines.join('\n'));
    expect(back.count).toBe(s.count);
    for (let i = 0; i < s.count; i++) expect(decodeState(back.records, i, 'pf-export')).toEqual(decodeState(s.bytes, i, s.layout));
    const at = (id: string) => lines.findIndex((l) => JSON.parse(l).id === id) * R;
    // The private bytes (flags, rt_af, wire af/proto, stack af/proto) where the families differ.
    expect([...back.records.subarray(at('00000000000000a1') + 376, at('00000000000000a1') + 378)]).toEqual([2, 28]);
    expect([...back.records.subarray(at('00000000000000b1') + 376, at('00000000000000b1') + 382)]).toEqual([1, 0, 28, 6, 2, 6]);
    // And the reloaded table behaves the same: --gateway fe80::1%igb0 still selects the IPv4 state.
    const k2 = createSimKernel({ version: 15 });
    k2.load(back.records, 384);
    const t = await openTable({ sim: k2, transport: 'netlink' });
    const plan = await t.plan([gateway('fe80::1', 128, 'igb0')]);
    expect([...plannedStates(plan)].map((p) => p.id).sort()).toEqual(['00000000000000a1', '00000000000000a2']);
    await t.close();
  });

  it('strict: another family needs saying so; the wire key is the state\'s own', () => {
    const base = { id: '00000000000000c1', creatorid: '0badc0de', ifname: 'igb1', af: 'inet6', proto: 'tcp', direction: 'in' };
    const k6 = { addr: ['2001:db8::1', '2001:db8::2'], port: [1, 2] };
    const k4 = { addr: ['192.0.2.1', '192.0.2.2'], port: [1, 2] };
    const parse = (o: object) => () => parseJsonl(JSON.stringify(o));
    expect(parse({ ...base, key: [k6, k4] })).toThrow(/key\[1\]\.addr\[0\]': expected an inet6 address/);
    expect(parse({ ...base, key: [k6, { ...k4, af: 'inet' }] })).not.toThrow();
    expect(parse({ ...base, key: [{ ...k4, af: 'inet' }, k6] })).toThrow(/key\[0\]\.af': .*the state's/);
    expect(parse({ ...base, key: [k6, { ...k6, color: 1 }] })).toThrow(/key\[1\]\.color': unknown field/);
    expect(parse({ ...base, key: [k6, k6], rt_addr: '192.0.2.9' })).toThrow(/rt_addr': expected an inet6 address/);
    expect(parse({ ...base, key: [k6, k6], rt_addr: '192.0.2.9', rt_af: 'inet' })).not.toThrow();
    expect(parse({ ...base, key: [k6, k6], rt_af: 'inet' })).toThrow(/rt_af': .*rt_addr/);
  });
});

describe('finding 4: the kill filter\'s nat is sent only where the kernel has psk_nat', () => {
  const NAT = { src: { addr: Uint8Array.from([198, 51, 100, 2, ...new Array(12).fill(0)]), mask: Uint8Array.from([255, 255, 255, 255, ...new Array(12).fill(0)]) } };
  const FILE = new URL('./fixtures/small-table.jsonl', import.meta.url).pathname;

  for (const [name, version, minor] of [['14.0', 14, 0], ['13.1+', 13, undefined]] as const) {
    it(`${name}: refused (ENOTSUP) over the ioctls, nothing killed`, () => {
      const k = createSimKernel({ file: FILE, version, minor });
      const be = PfBackend.onSim(k);
      expect(be.honoursNat()).toBe(false);
      expect(() => be.killByFilter({ ...NAT, nat: true })).toThrow(expect.objectContaining({ code: 'ENOTSUP' }));
      expect(k.count()).toBe(8);
    });
  }

  it('14.0 over netlink: its family lists 1-4 (no KILLSTATES): refused too', () => {
    const k = createSimKernel({ file: FILE, version: 14, minor: 0 });
    const be = PfNetlinkBackend.onSim(k);
    expect(be.describe().netlink).toMatchObject({ ops: [1, 2, 3, 4] });
    expect(() => be.killByFilter({ ...NAT, nat: true })).toThrow(expect.objectContaining({ code: 'ENOTSUP' }));
    expect(k.count()).toBe(8);
  });

  it('a 14.0 kernel really ignores the key: the same request without the guard matches the wire key', () => {
    // What the refusal prevents: sent anyway, 14.0 kills by the wire source (the NAT address),
    // not by the stack one, so the states "by NAT" it should leave alone die.
    const k = createSimKernel({ file: FILE, version: 14, minor: 0 });
    const dev = new native.PfDevice(k);
    expect(dev.killByFilter({ ...NAT, nat: true })).toBeGreaterThan(0);
  });

  for (const [name, version] of [['14', 14], ['15', 15]] as const) {
    it(`${name}: honoured over both transports (stack key: nothing has 198.51.100.2 as its inside source)`, () => {
      for (const be of [PfBackend.onSim(createSimKernel({ file: FILE, version, compat14: true })),
        PfNetlinkBackend.onSim(createSimKernel({ file: FILE, version }))]) {
        expect(be.honoursNat()).toBe(true);
        expect(be.killByFilter({ ...NAT, nat: true })).toBe(1); // 0x05: the firewall's own state
      }
    });
  }
});

describe('#10 item 21: the 2 GiB read boundary', () => {
  it('5,592,405 export records fit one read: the capacity is exactly that many, not one record less', () => {
    expect(maxReadBytes(384)).toBe(5_592_405 * 384);
    expect(readCapacity(5_592_405 * 384, 384)).toBe(5_592_405 * 384);
    expect(readCapacity(5_592_404 * 384, 384)).toBe(5_592_405 * 384);
    expect(maxReadBytes(242)).toBe(8_873_899 * 242);
  });

  it('a buffer exactly the table\'s size is a whole read, not a truncated one (the boundary case, small)', () => {
    for (const version of [12, 14] as const) {
      const k = createSimKernel({ generate: { states: 1000, seed: 1 }, version });
      const dev = new native.PfDevice(k);
      const elem = dev.describe().recordSize;
      const r = dev.read(new Uint8Array(1000 * elem));
      expect(r).toMatchObject({ bytes: 1000 * elem, truncated: false });
      // One record short really is truncated: the kernel counts more than was read.
      expect(dev.read(new Uint8Array(999 * elem))).toMatchObject({ truncated: true, needed: 1000 * elem });
    }
  });
});
