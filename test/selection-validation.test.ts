/**
 * The one validation point (issue 10 items 2, 3, 4, 6, 8, 9, 15, the #13 `ids` selector): the
 * library refuses what it cannot answer exactly with E_BAD_INPUT before anything is read, and a
 * refused plan kills nothing. Tables are simulated pf kernels (every personality where it matters)
 * and, for conntrack, a stand-in Backend holding 'ct' records (no kernel: the refusals come first).
 */
import { describe, expect, it } from 'vitest';
import { buildPlan, createSimKernel, decodeState, openTable, parseCidr, plannedStates, PfNetlinkBackend, streamSelect } from '../src/index.js';
import type { Backend, Cidr, Selection, Snapshot, StateTable } from '../src/index.js';
import { validateSelections } from '../src/engine/validate.js';
import { CT, CT_FLAG, CT_STRIDE, encodeCtRecord } from '../src/backends/conntrack-record.js';
import { parseIPv4 } from '../src/engine/addr.js';
import { native } from '../src/native/index.js';

const fixture = (name: string) => new URL(`./fixtures/scenarios/${name}.jsonl`, import.meta.url).pathname;
const SMALL = new URL('./fixtures/small-table.jsonl', import.meta.url).pathname;
const GW1: Cidr = { af: 'inet', addr: '198.51.100.1', prefix: 32 };
const short = (id: string) => id.slice(-2);

async function alive(t: StateTable): Promise<string[]> {
  const s = await t.snapshot();
  return Array.from({ length: s.count }, (_, i) => short(decodeState(s.bytes, i, s.layout).id)).sort();
}

/** Plans (and kills) on a fresh table; returns the killed states' short ids, or the refusal. */
async function killOn(file: string, selections: unknown, opts: Record<string, unknown> = {}, version?: 12 | 13 | 14 | 15) {
  const t = await openTable({ sim: { file, version } });
  try {
    const before = await alive(t);
    try {
      const { report } = await t.kill(selections as Selection[], opts);
      const after = await alive(t);
      return { killed: before.filter((x) => !after.includes(x)), report };
    } catch (e) {
      expect(await alive(t)).toEqual(before); // a refusal kills nothing
      throw e;
    }
  } finally {
    await t.close();
  }
}

const refused = (p: Promise<unknown>, message?: RegExp) =>
  expect(p).rejects.toMatchObject({ code: 'E_BAD_INPUT', ...(message ? { message: expect.stringMatching(message) } : {}) });

/** A Backend over fixed records that counts reads and kills: refusals must come before both. */
function fakeBackend(snap: () => Snapshot, kind: 'pf' | 'conntrack') {
  const calls = { read: 0, kill: 0 };
  const b: Backend = {
    describe: () => ({ backend: kind, target: 'test', paths: {} }),
    read: async () => (calls.read++, snap()),
    kill: (_s, idx, out) => { calls.kill += idx.length; out.fill(0); },
    flush: () => 0,
    close: () => {},
  };
  return { b, calls };
}

/** Four conntrack entries: ids 7, 8, 9, 10; marks 0x100, 0x200, 0x100, 0; tcp, tcp, udp, tcp. */
function ctSnapshot(): Snapshot {
  const bytes = new Uint8Array(new SharedArrayBuffer(4 * CT_STRIDE));
  const a = (h: number) => parseIPv4(`10.0.0.${h}`);
  [[0x100, 6], [0x200, 6], [0x100, 17], [0, 6]].forEach(([mark, proto], i) => {
    encodeCtRecord(bytes, i, { af: 4, proto, src: a(1), dst: a(2), srcPort: 1000 + i, dstPort: 80, replySrc: a(2), replyDst: a(1),
      replySrcPort: 80, replyDstPort: 1000 + i, mark });
    bytes[i * CT_STRIDE + CT.flags] |= CT_FLAG.id;
    new DataView(bytes.buffer, i * CT_STRIDE).setUint32(CT.id, 7 + i, true);
  });
  return { bytes, count: 4, layout: 'ct', hasRouteInfo: false };
}

describe('item 2: criteria a table cannot answer are refused, not dropped', () => {
  it('a pf selection of only conntrack criteria (mark, zone, replyDst) selected the whole table; now refused, nothing killed', async () => {
    for (const s of [{ mark: { value: 0x100, mask: 0xff00 } }, { zone: 1 }, { replyDst: { af: 'inet', addr: '198.51.100.2', prefix: 32 } }])
      await refused(killOn(SMALL, [s]), /applies to conntrack entries only; this is the pf backend/);
    // The same through buildPlan (the library's other door) on a generated table.
    const t = await openTable({ sim: { generate: { states: 20000, seed: 1 } } });
    await refused(buildPlan(await t.snapshot(), [{ mark: { value: 1, mask: 1 } }]));
    await t.close();
  });

  it('pf-only criteria on conntrack are refused before the read', async () => {
    const { b, calls } = fakeBackend(ctSnapshot, 'conntrack');
    const t = await openTable({ backend: b });
    for (const s of [{ gateways: [GW1] }, { natAddrs: [GW1] }, { interfaces: ['igb0'] }, { rtInterfaces: ['igb0'] }, { rules: [1] }])
      await refused(t.plan([s]), /applies to pf states only/);
    expect(calls).toEqual({ read: 0, kill: 0 });
  });

  it("af must be exactly 'inet' or 'inet6' ('ipv4' selected every inet6 state)", async () => {
    for (const af of ['ipv4', 'INET', '', 4, null, ['inet', 'ipv6']]) await refused(killOn(SMALL, [{ af }]));
    expect((await killOn(SMALL, [{ af: 'inet6' }])).killed).toEqual(['07', '08']);
  });

  it('rule numbers: integers 0..4294967294 (0xffffffff is "no rule"; 2^32 + 10 wrapped onto rule 10)', async () => {
    for (const r of [4294967306, 0xffffffff, -1, 1.5, NaN, '10', 2 ** 53]) await refused(killOn(SMALL, [{ rules: [r] }]), /rule/);
    expect((await killOn(SMALL, [{ rules: [10] }])).killed).toEqual(['01', '02']);
    expect((await killOn(SMALL, [{ rules: [4294967294] }])).killed).toEqual([]);
  });

  it("a scope inside a Cidr's addr ('fe80::1%igb0') is refused, not dropped; the scope goes in ifname", async () => {
    await refused(killOn(SMALL, [{ gateways: [{ af: 'inet6', addr: 'fe80::1%igb0', prefix: 128 }] }]), /scope does not belong in the address.*ifname/);
    await refused(killOn(SMALL, [{ src: { af: 'inet6', addr: 'fe80::1%1.2.3.4', prefix: 128 } }]));
    // Scoped as documented, it works: the link-local gateway on igb0 is states 07 and its partner 08.
    expect((await killOn(SMALL, [{ gateways: [{ af: 'inet6', addr: 'fe80::1', prefix: 128, ifname: 'igb0' }] }])).killed).toEqual(['07', '08']);
  });

  const badTypes: [string, unknown][] = [
    ['gateways not a list', { gateways: GW1 }],
    ['a gateway that is a string', { gateways: ['198.51.100.1'] }],
    ['NaN port', { dstPort: NaN }],
    ['a port as a string', { dstPort: '443' }],
    ['port 65536', { srcPort: 65536 }],
    ['port -1', { srcPort: -1 }],
    ['protocol 256', { proto: 256 }],
    ['protocol name', { proto: 'tcp' }],
    ['prefix 1.5', { src: { af: 'inet', addr: '10.0.0.0', prefix: 1.5 } }],
    ['prefix 33', { src: { af: 'inet', addr: '10.0.0.0', prefix: 33 } }],
    ['prefix /129', { dst: { af: 'inet6', addr: '2001:db8::', prefix: 129 } }],
    ['af and address disagree', { src: { af: 'inet', addr: '2001:db8::1', prefix: 32 } }],
    ['an extra field in a Cidr', { src: { af: 'inet', addr: '10.0.0.1', prefix: 32, mask: 32 } }],
    ['an unknown selector (a typo of gateways)', { gateway: [GW1] }],
    ['null for a selector', { gateways: null }],
    ['interfaces as a string', { interfaces: 'igb0' }],
    ['an interface name of 16 characters', { interfaces: ['a'.repeat(16)] }],
    ['a name that is not a string', { name: 7, gateways: [GW1] }],
    // eslint-disable-next-line no-sparse-arrays
    ['a sparse list', { proto: [6, , 17] }],
    ['a typed array for a list', { rules: Uint32Array.of(10) }],
    ['a bigint port', { dstPort: 443n }],
  ];
  for (const [what, s] of badTypes) it(`refuses ${what}`, async () => refused(killOn(SMALL, [s])));

  it('refuses what is not a list of selection objects', async () => {
    for (const s of [undefined, {}, [null], [[]], ['gateway'], [], Array(33).fill({ gateways: [GW1] })]) await refused(killOn(SMALL, s));
  });

  it('echoes at most a short piece of a huge value', async () => {
    const huge = 'x'.repeat(50 * 1024 * 1024);
    for (const s of [{ gateways: [{ af: 'inet', addr: huge, prefix: 32 }] }, { interfaces: [huge] }, { [huge]: 1 }, { name: huge, gateways: [GW1] }]) {
      const e = await killOn(SMALL, [s]).then(() => undefined, (x: Error) => x);
      expect(e).toMatchObject({ code: 'E_BAD_INPUT' });
      expect(e!.message.length).toBeLessThan(400);
    }
  });

  it('a selection changed by the caller after planning does not change the plan', async () => {
    const s: Selection = { gateways: [{ ...GW1 }] };
    const t = await openTable({ sim: { file: SMALL } });
    const plan = await t.plan([s]);
    s.gateways![0].addr = '203.0.113.1';
    expect(plan.selections).toEqual([{ gateways: [GW1] }]);
    await t.close();
  });
});

describe('item 3 (validation side): conntrack marks', () => {
  it('a mark value with bits outside its mask, or mask 0, is refused before the read', async () => {
    const { b, calls } = fakeBackend(ctSnapshot, 'conntrack');
    const t = await openTable({ backend: b });
    await refused(t.plan([{ mark: { value: 0x100, mask: 0xff } }]), /bits outside mask/);
    await refused(t.plan([{ mark: { value: 0, mask: 0 } }]), /mask 0/);
    await refused(t.plan([{ mark: { value: 0x100 } as never }]));
    await refused(t.plan([{ mark: { value: 2 ** 32, mask: 0xffffffff } }]));
    expect(calls).toEqual({ read: 0, kill: 0 });
    // A good one selects by (mark & mask) == value.
    const plan = await t.plan([{ mark: { value: 0x100, mask: 0xff00 } }]);
    expect(Array.from(plan.indices)).toEqual([0, 2]);
  });

  it('the native select refuses them too (the scoped kernel-filter path hands it marks directly)', () => {
    const snap = ctSnapshot();
    const run = (mark: { value: number; mask: number }) => native.ctSelect(snap.bytes, 0, 4, [{ mark }], new Int32Array(4), new Uint32Array(4));
    expect(() => run({ value: 0x100, mask: 0xff })).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
    expect(() => run({ value: 0, mask: 0 })).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
    expect(run({ value: 0x100, mask: 0xff00 })).toBe(2);
  });
});

describe('item 4: an empty value is refused, never "absent"', () => {
  const empties: Selection[] = [
    { src: { af: 'inet', addr: '', prefix: 32 } },
    { interfaces: [''] },
    { interfaces: [] },
    { gateways: [] },
    { natAddrs: [] },
    { rules: [] },
    { proto: [] },
    { src: [] },
    { dstPort: [] },
    { af: [] },
    { ids: [] },
    { rtInterfaces: [''] },
  ];
  for (const s of empties)
    it(`refuses ${JSON.stringify(s)}, alone and next to another criterion`, async () => {
      await refused(killOn(SMALL, [s]));
      await refused(killOn(SMALL, [{ proto: 17, ...s }]));
    });
});

describe('item 6: a plan runs only on the table that made it', () => {
  it('a plan made by table A is refused by table B; B is unchanged', async () => {
    const a = await openTable({ sim: { generate: { states: 5000, seed: 1 } } });
    const b = await openTable({ sim: { generate: { states: 5000, seed: 2 } } });
    const plan = await a.plan([{ gateways: [GW1] }]);
    const bBefore = (await b.snapshot()).count;
    await b.plan([{ gateways: [GW1] }]); // B has plans of its own, and still refuses A's
    await refused(b.execute(plan), /not made by this table/);
    expect((await b.snapshot()).count).toBe(bBefore);
    expect((await a.execute(plan)).killed).toBe(plan.indices.length); // A still can
    await a.close();
    await b.close();
  });

  it('no public door runs a plan on a table that did not make it (executePlan took any backend, snapshot and plan)', async () => {
    // Two generated tables hand out the same ids (1, 2, 3...) to unrelated states: A's plan run on
    // B through the module-level executePlan killed 582 of B's 2000 states. Only table.execute runs
    // plans, and it refuses A's.
    const lib = await import('../src/index.js');
    expect(Object.keys(lib)).not.toContain('executePlan');
    const a = await openTable({ sim: { generate: { states: 2000, seed: 1 } } });
    const b = await openTable({ sim: { generate: { states: 2000, seed: 2 } } });
    const plan = await a.plan([{ gateways: [GW1] }]);
    expect(plan.indices.length).toBeGreaterThan(0);
    await refused(b.execute(plan), /not made by this table/);
    expect((await b.snapshot()).count).toBe(2000);
    await a.close();
    await b.close();
  });

  it('pf: a plan older than the last read is still exact (ids are never reused): it kills its states', async () => {
    const t = await openTable({ sim: { file: SMALL } });
    const plan = await t.plan([{ gateways: [GW1] }]);
    await t.plan([{ af: 'inet6' }]); // a newer snapshot
    const r = await t.execute(plan);
    expect(r.killed).toBe(3);
    expect(await alive(t)).toEqual(['03', '04', '06', '07', '08']);
    await t.close();
  });

  it('conntrack: a plan older than the last read is refused (entry ids are reused)', async () => {
    const { b, calls } = fakeBackend(ctSnapshot, 'conntrack');
    const t = await openTable({ backend: b });
    const plan = await t.plan([{ proto: 6 }]);
    await t.snapshot();
    await refused(t.execute(plan), /older than the table's last read/);
    expect(calls.kill).toBe(0);
    const fresh = await t.plan([{ proto: 6 }]);
    expect((await t.execute(fresh)).killed).toBe(3);
  });

  it('a plan whose indices were changed after planning is refused', async () => {
    const t = await openTable({ sim: { file: SMALL } });
    const plan = await t.plan([{ gateways: [GW1] }]);
    (plan.indices as Int32Array)[0] = 5; // another state
    await refused(t.execute(plan));
    expect((await alive(t)).length).toBe(8);
    await t.close();
  });
});

describe('item 8: gateways (and addresses) that are usually typos need force', () => {
  it('an unscoped IPv6 link-local gateway is refused; scoped it selects one link; forced it selects every link', async () => {
    const ll = fixture('link-local');
    const fe80 = (ifname?: string): Cidr => ({ af: 'inet6', addr: 'fe80::1', prefix: 128, ...(ifname ? { ifname } : {}) });
    await refused(killOn(ll, [{ gateways: [fe80()] }]), /link-local gateway is on every link/);
    await refused(killOn(ll, [{ gateways: [{ af: 'inet6', addr: 'fe80::', prefix: 64 }] }]));
    await refused(killOn(ll, [{ gateways: [{ af: 'inet6', addr: 'fe00::', prefix: 7 }] }]), /link-local/);
    expect((await killOn(ll, [{ gateways: [fe80('igb0')] }])).killed).toEqual(['01', '02', '05']);
    expect((await killOn(ll, [{ gateways: [fe80()] }], { force: true })).killed).toEqual(['01', '02', '03', '04', '05', '06']);
  });

  it('a /0 prefix and host bits below the prefix length are refused unless forced, on every address selector', async () => {
    const gw0 = { gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 0 }] };
    const host = { gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 24 }] };
    await refused(killOn(SMALL, [gw0]), /\/0 prefix/);
    await refused(killOn(SMALL, [host]), /host bits/);
    for (const k of ['natAddrs', 'src', 'dst'] as const) {
      const v = (c: Cidr) => (k === 'natAddrs' ? [c] : c);
      await refused(killOn(SMALL, [{ [k]: v({ af: 'inet', addr: '0.0.0.0', prefix: 0 }) }]), /\/0 prefix/);
      await refused(killOn(SMALL, [{ [k]: v({ af: 'inet', addr: '192.168.1.10', prefix: 24 }) }]), /host bits/);
    }
    // Forced, they mean what they say: every routed inet state, and the /24 network.
    expect((await killOn(SMALL, [gw0], { force: true })).killed).toEqual(['01', '02', '03', '04', '05']);
    expect((await killOn(SMALL, [host], { force: true })).killed).toEqual(['01', '02', '05']);
    await refused(killOn(SMALL, [host], { force: 'yes' }));
  });

  it('an interface scope on a source or destination is refused (it would be ignored)', async () => {
    await refused(killOn(SMALL, [{ src: { af: 'inet6', addr: '2001:db8:1::10', prefix: 128, ifname: 'igb1' } }]), /applies to gateways only/);
  });
});

describe('item 9: records without rt_ifname cannot answer a scoped gateway', () => {
  for (const version of [12, 13] as const)
    it(`FreeBSD ${version} personality: a scoped gateway or rtInterfaces is refused (it was "0 selected"), nothing killed`, async () => {
      await refused(killOn(SMALL, [{ gateways: [{ af: 'inet6', addr: 'fe80::1', prefix: 128, ifname: 'igb0' }] }], {}, version), /no route-to interface/);
      await refused(killOn(SMALL, [{ rtInterfaces: ['igb0'] }], {}, version), /no route-to interface/);
      // Unscoped (forced: it matches fe80::1 on every link) it is answered.
      expect((await killOn(SMALL, [{ gateways: [{ af: 'inet6', addr: 'fe80::1', prefix: 128 }] }], { force: true }, version)).killed).toEqual(['07', '08']);
    });
  it('FreeBSD 14 answers it', async () => {
    expect((await killOn(SMALL, [{ rtInterfaces: ['igb3'] }], {}, 14)).killed).toEqual(['03', '04']);
  });
});

describe('item 15: list values OR', () => {
  it('proto, src, dst, ports and af take lists; a list is the union of its single values', async () => {
    const t = await openTable({ sim: { generate: { states: 20000, seed: 9 } } });
    const ids = async (s: Selection) => [...plannedStates(await t.plan([s], { pair: false }))].map((p) => p.id).sort();
    const union = async (...ss: Selection[]) => [...new Set((await Promise.all(ss.map(ids))).flat())].sort();
    const lan = (a: string): Cidr => parseCidr(a);
    const cases: [Selection, Selection[]][] = [
      [{ proto: [6, 17] }, [{ proto: 6 }, { proto: 17 }]],
      [{ af: ['inet', 'inet6'], dstPort: [443, 53] }, [{ dstPort: 443 }, { dstPort: 53 }]],
      [{ src: [lan('192.168.1.0/24'), lan('10.20.0.0/16')] }, [{ src: lan('192.168.1.0/24') }, { src: lan('10.20.0.0/16') }]],
      [{ dst: [lan('198.51.100.2'), lan('203.0.113.2')], proto: [6] }, [{ dst: lan('198.51.100.2'), proto: 6 }, { dst: lan('203.0.113.2'), proto: 6 }]],
      [{ srcPort: [1, 2, 3], af: 'inet' }, [{ srcPort: 1, af: 'inet' }, { srcPort: 2, af: 'inet' }, { srcPort: 3, af: 'inet' }]],
    ];
    for (const [list, singles] of cases) {
      const got = await ids(list);
      expect(got).toEqual(await union(...singles));
      if (list.proto || list.src) expect(got.length).toBeGreaterThan(0);
    }
    await t.close();
  });
});

describe('#13: ids (pfctl -k id)', () => {
  it('selects states by id (any creator, or the given one); pairing applies as usual', async () => {
    expect((await killOn(SMALL, [{ ids: [{ id: 1n }] }])).killed).toEqual(['01', '02']);
    expect((await killOn(SMALL, [{ ids: [{ id: 1n }] }], { pair: false })).killed).toEqual(['01']);
    expect((await killOn(SMALL, [{ ids: [{ id: 7n, creatorid: 0x12345678 }, { id: 3n }] }])).killed).toEqual(['03', '04', '07', '08']);
    expect((await killOn(SMALL, [{ ids: [{ id: 7n, creatorid: 0x0badc0de }] }])).killed).toEqual([]); // not its creator
  });

  it('refuses id 0, creator id 0, ids out of range and non-bigint ids', async () => {
    for (const v of [{ id: 0n }, { id: 1n, creatorid: 0 }, { id: 2n ** 64n }, { id: -1n }, { id: 1 }, { id: '1' }, { id: 1n, creator: 1 }])
      await refused(killOn(SMALL, [{ ids: [v] }]));
  });

  it('an id two creators share (pfsync) needs its creator id', async () => {
    const lines = (await import('node:fs')).readFileSync(SMALL, 'utf8').split('\n').filter((l) => l.startsWith('{'));
    const twin = lines[0].replace('"creatorid":"0badc0de"', '"creatorid":"0000beef"');
    const file = `${(await import('node:os')).tmpdir()}/sk-twin-${process.pid}.jsonl`;
    (await import('node:fs')).writeFileSync(file, [...lines, twin].join('\n'));
    await refused(killOn(file, [{ ids: [{ id: 1n }] }]), /creators 0badc0de and 0000beef/);
    const t = await openTable({ sim: { file } });
    const plan = await t.plan([{ ids: [{ id: 1n, creatorid: 0xbeef }] }], { pair: false });
    expect([...plannedStates(plan)]).toEqual([{ id: '0000000000000001', creatorid: '0000beef', reason: 'selected' }]);
    expect((await t.execute(plan)).killed).toBe(1);
    await t.close();
  });

  it('conntrack: an id is CTA_ID (u32), with no creator', async () => {
    const { b } = fakeBackend(ctSnapshot, 'conntrack');
    const t = await openTable({ backend: b });
    expect(Array.from((await t.plan([{ ids: [{ id: 9n }, { id: 7n }] }])).indices)).toEqual([0, 2]);
    await refused(t.plan([{ ids: [{ id: 2n ** 32n }] }]));
    await refused(t.plan([{ ids: [{ id: 7n, creatorid: 1 }] }]));
  });
});

describe('every planning door validates', () => {
  it('validateSelections names CLI flags when asked, fields otherwise', () => {
    expect(() => validateSelections([{ dstPort: 70000 }], { backend: 'pf', cli: true })).toThrow(/^--dst-port: port 70000 out of range 0-65535$/);
    expect(() => validateSelections([{ name: 'WAN1', dstPort: 70000 }], { backend: 'pf' })).toThrow(/^selection 1 \("WAN1"\) dstPort: port 70000/);
  });

  it('streamSelect (netlink) refuses like plan()', async () => {
    const k = createSimKernel({ generate: { states: 2000, seed: 1 } });
    await refused(streamSelect(PfNetlinkBackend.onSim(k), [{ gateways: [] }]));
    await refused(streamSelect(PfNetlinkBackend.onSim(k), [{ zone: 1 }]));
  });

  it('plan options: a pairRule typo is refused (it meant "kernel")', async () => {
    const t = await openTable({ sim: { file: SMALL } });
    await refused(t.plan([{ gateways: [GW1] }], { pairRule: 'kernel+stak' as never }));
    await refused(t.plan([{ gateways: [GW1] }], { workers: -1 }));
    await t.close();
  });
});
