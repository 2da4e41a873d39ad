/**
 * The native pf layer against the simulated kernel: probing per FreeBSD personality, reads, kills
 * by id, every kill filter, kill_match, flush, growth between probe and fetch, and refusals.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { PfBackend } from '../src/backends/pf.js';
import { createSimKernel } from '../src/backends/sim.js';
import { openTable } from '../src/engine/table.js';
import { parseJsonl } from '../src/table/jsonl.js';
import { decodeState } from '../src/table/records.js';
import { StatekillError } from '../src/errors.js';
import type { PfKillFilterArg } from '../src/native/types-pf.js';

const FIXTURE = new URL('./fixtures/small-table.jsonl', import.meta.url).pathname;

function v4(a: string): Uint8Array {
  const b = new Uint8Array(16);
  a.split('.').forEach((x, i) => (b[i] = Number(x)));
  return b;
}
function mask4(bits: number): Uint8Array {
  const b = new Uint8Array(16);
  for (let i = 0; i < 4; i++) b[i] = Math.max(0, Math.min(8, bits - i * 8)) === 0 ? 0 : (0xff << (8 - Math.min(8, bits - i * 8))) & 0xff;
  return b;
}

function fresh(version: 12 | 13 | 14 | 15 = 14, compat14 = false) {
  const sim = createSimKernel({ file: FIXTURE, version, compat14 });
  return { sim, be: PfBackend.onSim(sim) };
}

async function ids(be: PfBackend): Promise<string[]> {
  const s = await be.read();
  return Array.from({ length: s.count }, (_, i) => decodeState(s.bytes, i, s.layout).id.slice(-2)).sort();
}

function filterKill(be: PfBackend, f: PfKillFilterArg): number {
  return be.killByFilter(f);
}

describe('probing: the paths each FreeBSD personality offers', () => {
  it('12.x: DIOCGETSTATES and the struct kill only', () => {
    const d = fresh(12).be.describe();
    expect(d.paths).toEqual({ read: 'DIOCGETSTATES', killById: 'DIOCKILLSTATES', killByFilter: 'DIOCKILLSTATES', flush: 'DIOCCLRSTATES', status: 'DIOCGETSTATUS' });
    expect(d.hasRouteInfo).toBe(false);
  });
  it('13.1+: V2 read (version 20210706, no route info) and NV filter kills', () => {
    const d = fresh(13).be.describe();
    expect(d.paths).toEqual({ read: 'DIOCGETSTATESV2', killById: 'DIOCKILLSTATES', killByFilter: 'DIOCKILLSTATESNV', flush: 'DIOCCLRSTATESNV', status: 'DIOCGETSTATUSNV' });
    expect(d.stateVersion).toBe(20210706);
  });
  it('14: V2 version 20230404 with rt/rt_ifname', async () => {
    const { be } = fresh(14);
    expect(be.describe()).toMatchObject({ stateVersion: 20230404, hasRouteInfo: true });
    const s = await be.read();
    expect(decodeState(s.bytes, 0, s.layout)).toMatchObject({ rt: 2, rt_ifname: 'igb0', rt_addr: '198.51.100.1' });
  });
  it('15 without COMPAT_FREEBSD14: no state read ioctl, NV kills by id', async () => {
    const { be } = fresh(15);
    expect(be.describe().paths).toEqual({ read: 'none', killById: 'DIOCKILLSTATESNV', killByFilter: 'DIOCKILLSTATESNV', flush: 'DIOCCLRSTATESNV', status: 'DIOCGETSTATUSNV' });
    await expect(be.read()).rejects.toMatchObject({ code: 'E_NO_PF' });
  });
  it('15 with COMPAT_FREEBSD14 reads by V2 and kills by id over NV', async () => {
    const { be, sim } = fresh(15, true);
    const s = await be.read();
    expect(s.count).toBe(8);
    const out = new Int32Array(1);
    be.kill(s, Int32Array.of(0), out);
    expect(out[0]).toBe(0);
    expect(sim.count()).toBe(7);
  });
  it('a device path that does not exist: ENOENT, no fallback; "pf is not loaded" only for /dev/pf (another path is a typo)', () => {
    let err: unknown;
    try { PfBackend.open('/nonexistent/pf'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(StatekillError);
    expect(err).toMatchObject({ code: 'ENOENT', errno: 2 });
    expect((err as Error).message).toMatch(/no such file \(check --device\)/);
    expect((err as Error).message).not.toMatch(/kldload/);
  });
  it('a device that answers no pf ioctl is refused (E_NO_PF)', () => {
    expect(() => PfBackend.open('/dev/null')).toThrow(expect.objectContaining({ code: 'E_NO_PF' }));
  });
});

describe('the ABI check: refuse, never kill, on sizes or versions statekill does not know', () => {
  it('a size probe that is not whole records', () => {
    for (const version of [12, 14] as const) {
      const sim = createSimKernel({ file: FIXTURE, version, abiFault: { probeSkew: 8 } });
      expect(() => PfBackend.onSim(sim)).toThrow(expect.objectContaining({ code: 'E_ABI_MISMATCH', message: expect.stringMatching(/not a multiple of (384|242)-byte records; refusing/) }));
      expect(sim.count()).toBe(8);
    }
  });
  it('a pf_state_export version that is neither 20210706 nor 20230404', async () => {
    const sim = createSimKernel({ file: FIXTURE, abiFault: { exportVersion: 20990101 } });
    const t = await openTable({ sim });
    await expect(t.kill([{ gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }]))
      .rejects.toMatchObject({ code: 'E_ABI_MISMATCH', message: expect.stringMatching(/version 20990101 is not one statekill knows/) });
    expect(sim.count()).toBe(8);
    await t.close();
  });
});

describe('reading', () => {
  it('reads every state in the kernel layout of each personality', async () => {
    for (const v of [12, 13, 14] as const) {
      const s = await fresh(v).be.read();
      expect(s.count).toBe(8);
      expect(s.layout).toBe(v === 12 ? 'pf-1301' : 'pf-export');
      expect(s.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
      const d = decodeState(s.bytes, 1, s.layout);
      expect(d).toMatchObject({ id: '0000000000000002', creatorid: '0badc0de', direction: 'out', ifname: 'igb0' });
      expect(d.key[0].addr).toEqual(['1.1.1.1', '198.51.100.2']);
      expect(d.key[1].addr).toEqual(['1.1.1.1', '192.168.1.10']);
    }
  });
  it('the table growing between size probe and fetch: grows the buffer and retries', async () => {
    const sim = createSimKernel({ generate: { states: 100, seed: 3 } });
    const be = PfBackend.onSim(sim);
    sim.growBeforeNextFetch(5000); // 50x the probed size arrives before the fetch
    const s = await be.read();
    expect(s.count).toBe(5100);
    expect(sim.count()).toBe(5100);
    const idset = new Set(Array.from({ length: s.count }, (_, i) => decodeState(s.bytes, i, s.layout).id));
    expect(idset.size).toBe(5100);
  });
});

describe('kill by (id, creatorid)', () => {
  it('kills exactly the named states; a vanished one is "already gone"; id 0 is refused per entry', async () => {
    const { be, sim } = fresh();
    const s = await be.read();
    const out = new Int32Array(3);
    be.kill(s, Int32Array.of(0, 6), out.subarray(0, 2)); // states 01 and 07 (creatorid 12345678)
    expect(Array.from(out.subarray(0, 2))).toEqual([0, 0]);
    expect(await ids(be)).toEqual(['02', '03', '04', '05', '06', '08']);
    be.kill(s, Int32Array.of(0), out.subarray(0, 1)); // 01 again: gone since the snapshot
    expect(out[0]).toBe(1);
    const dev = new native.PfDevice(sim);
    const r = dev.killByIds(BigUint64Array.of(0n), Uint32Array.of(0x0badc0de), out.subarray(0, 1));
    expect(out[0]).toBe(-22);
    expect(r).toEqual({ killed: 0, alreadyGone: 0, failed: 1 });
    expect(sim.count()).toBe(6); // id 0 would have been "match everything": nothing died
  });
  it('a wrong creatorid does not kill another node\'s state', async () => {
    const { be, sim } = fresh();
    const s = await be.read();
    const dev = new native.PfDevice(sim);
    const id7 = new DataView(s.bytes.buffer, s.bytes.byteOffset + 6 * 384 + 8, 8).getBigUint64(0, true);
    const out = new Int32Array(1);
    dev.killByIds(BigUint64Array.of(id7), Uint32Array.of(0x0badc0de), out);
    expect(out[0]).toBe(1);
    expect(sim.count()).toBe(8);
  });
});

describe('the kernel filter kill (pf_killstates semantics)', () => {
  const cases: Array<[string, PfKillFilterArg, string[]]> = [
    ['af inet6', { af: 28 }, ['07', '08']],
    ['proto udp', { proto: 17 }, ['03', '04']],
    // Source as seen in the state's direction: for "out" states addr[1] of the wire key.
    ['src 192.168.1.0/24 (wire key: NATed out states not matched)', { src: { addr: v4('192.168.1.0'), mask: mask4(24) } }, ['01', '03', '06']],
    ['src 198.51.100.2 (NAT address, out states)', { src: { addr: v4('198.51.100.2'), mask: mask4(32) } }, ['02', '05']],
    ['src 198.51.100.2 with nat (stack key): nothing', { src: { addr: v4('198.51.100.2'), mask: mask4(32) }, nat: true }, ['05']],
    ['dst 1.1.1.1', { dst: { addr: v4('1.1.1.1'), mask: mask4(32) } }, ['01', '02']],
    ['negated dst 192.168.1.0/24 and af inet', { af: 2, dst: { addr: v4('192.168.1.0'), mask: mask4(24), neg: true } }, ['01', '02', '03', '04', '05']],
    ['dst port = 443', { dst: { portOp: 2, ports: [443, 0] } }, ['01', '02', '06', '07', '08']],
    // Outbound NAT states carry the translated source port on the wire: not matched.
    ['src port in 40000..40001 (inclusive range)', { src: { portOp: 9, ports: [40000, 40001] } }, ['01', '03']],
    ['gateway rt_addr 198.51.100.1', { rtAddr: { addr: v4('198.51.100.1'), mask: mask4(32) } }, ['01', '05']],
    ['interface igb0 (floating state by its original interface)', { ifname: 'igb0' }, ['02', '05', '08']],
    // Labels belong to the rule: both states rule 10 created match.
    ['label', { label: 'wan1-policy' }, ['01', '02']],
  ];
  for (const [name, f, killed] of cases) {
    it(name, async () => {
      const { be } = fresh();
      const before = await ids(be);
      const n = filterKill(be, f);
      const after = await ids(be);
      expect(before.filter((x) => !after.includes(x))).toEqual(killed);
      expect(n).toBe(killed.length);
    });
  }
  it('12.x: a floating state does not match its real interface', async () => {
    const { be } = fresh(12);
    expect(filterKill(be, { ifname: 'igb0' })).toBe(2);
    expect(await ids(be)).toEqual(['01', '03', '04', '05', '06', '07']);
  });
  it('kill_match: the gateway kill also kills each partner (count includes partners)', async () => {
    const { be } = fresh();
    const n = filterKill(be, { af: 2, rtAddr: { addr: v4('198.51.100.1'), mask: mask4(32) }, killMatch: true });
    expect(await ids(be)).toEqual(['03', '04', '06', '07', '08']);
    expect(n).toBe(3); // 01 + its partner 02, and 05 (no partner)
  });
  it('kill_match with an ambiguous partner kills none of the candidates', async () => {
    const text = readFileSync(FIXTURE, 'utf8') +
      // A second outbound state with 02's stack key (a floating duplicate on igb3).
      '{"id":"0000000000000009","creatorid":"0badc0de","ifname":"all","orig_ifname":"igb3","af":"inet","proto":"tcp","direction":"out","key":[{"addr":["1.1.1.1","203.0.113.2"],"port":[443,50009]},{"addr":["1.1.1.1","192.168.1.10"],"port":[443,40000]}]}\n';
    const t = parseJsonl(text);
    const sim = createSimKernel({ records: { bytes: t.records, stride: 384 } });
    const be = PfBackend.onSim(sim);
    const n = be.killByFilter({ af: 2, rtAddr: { addr: v4('198.51.100.1'), mask: mask4(32) }, killMatch: true });
    expect(n).toBe(2); // 01 and 05; neither 02 nor 09 (ambiguous)
    expect(await ids(be)).toEqual(['02', '03', '04', '06', '07', '08', '09']);
  });
  it("kill_match looks the key up among states of either direction, as pf_find_state_all does", async () => {
    // pf_find_state_all (sys/netpfil/pf/pf.c) walks the key's wire list for PF_IN and its stack
    // list for PF_OUT, whatever direction each state has. 01 (IN via GW1) wants an OUT state with
    // stack key 1.1.1.1:443 -> 192.168.1.10:40000; here there is none, but 09, an IN state (a
    // port-forward on igb3), has that stack key: pf kills it as 01's partner. With 02 there as
    // well, two states have the key and pf kills neither.
    const pfwd = '{"id":"0000000000000009","creatorid":"0badc0de","ifname":"igb3","af":"inet","proto":"tcp","direction":"in","key":[{"addr":["1.1.1.1","203.0.113.2"],"port":[443,50009]},{"addr":["1.1.1.1","192.168.1.10"],"port":[443,40000]}]}';
    const lines = readFileSync(FIXTURE, 'utf8').split('\n').filter(Boolean);
    const gw = { af: 2 as const, rtAddr: { addr: v4('198.51.100.1'), mask: mask4(32) }, killMatch: true };
    for (const version of [13, 14, 15] as const) {
      const without02 = parseJsonl([...lines.filter((l) => !l.includes('"0000000000000002"')), pfwd].join('\n'));
      const a = PfBackend.onSim(createSimKernel({ version, compat14: true, records: { bytes: without02.records, stride: 384 } }));
      expect(a.killByFilter(gw)).toBe(3); // 01 + 09 (its only match), 05
      expect(await ids(a)).toEqual(['03', '04', '06', '07', '08']);
      const with02 = parseJsonl([...lines, pfwd].join('\n'));
      const b = PfBackend.onSim(createSimKernel({ version, compat14: true, records: { bytes: with02.records, stride: 384 } }));
      expect(b.killByFilter(gw)).toBe(2); // 01 and 05; 02 and 09 both have the key: neither
      expect(await ids(b)).toEqual(['02', '03', '04', '06', '07', '08', '09']);
    }
  });
  it('refuses a filter that would match every state (E_UNSAFE_FILTER), kills nothing', async () => {
    for (const v of [12, 14, 15] as const) {
      const { be, sim } = fresh(v, true);
      expect(() => be.killByFilter({})).toThrow(expect.objectContaining({ code: 'E_UNSAFE_FILTER' }));
      expect(() => be.killByFilter({ killMatch: true, src: { mask: new Uint8Array(16) } })).toThrow(expect.objectContaining({ code: 'E_UNSAFE_FILTER' }));
      expect(sim.count()).toBe(8);
    }
  });
  it('refuses a gateway kill where only the struct ioctl exists (it would drop rt_addr)', async () => {
    const { be, sim } = fresh(12);
    expect(() => be.killByFilter({ rtAddr: { addr: v4('198.51.100.1'), mask: mask4(32) } })).toThrow(/cannot match a gateway/);
    expect(sim.count()).toBe(8);
  });
});

describe('flush (pfctl -Fs)', () => {
  it('kills everything, or one interface\'s states (floating ones by their original interface)', async () => {
    const a = fresh();
    expect(a.be.flush('igb3')).toBe(1);
    expect(await ids(a.be)).toEqual(['01', '02', '03', '05', '06', '07', '08']);
    expect(a.be.flush()).toBe(7);
    expect(a.sim.count()).toBe(0);
    const b = fresh(12);
    expect(b.be.flush()).toBe(8);
  });
});
