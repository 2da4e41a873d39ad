// pf over netlink (FreeBSD 14.x/15): the genl codec, family resolution per personality, the
// GETSTATES stream, KILLSTATES/CLRSTATES, and a differential test against the ioctl path on the
// same simulated tables (two kernels generated from the same seed are identical).
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { PfBackend } from '../src/backends/pf.js';
import { PfNetlinkBackend } from '../src/backends/pf-netlink.js';
import { openTable } from '../src/engine/table.js';
import { buildPlan } from '../src/engine/plan.js';
import { closeSelectPool, selectStates } from '../src/engine/select.js';
import { compileSelection } from '../src/engine/compile.js';
import { streamPlan, streamSelect } from '../src/engine/streamSelect.js';
import { StatekillError } from '../src/errors.js';
import type { SimKernelHandle } from '../src/native/types-sim.js';
import type { PfNetlinkHandle } from '../src/native/types-netlink.js';
import type { Selection, Snapshot } from '../src/engine/types.js';

const R = 384;
const ENOENT = 2, EINVAL = 22, EBADMSG = 74, ENOTSUP = 95;
const HOSTID = 0x0badc0de;

afterAll(closeSelectPool);

function sim(version: 12 | 13 | 14 | 15, states = 0, seed = 1, compat14 = false): SimKernelHandle {
  const k = new native.SimKernel({ version, compat14, hostid: HOSTID });
  if (states) k.generate({ states, seed });
  return k;
}

function readAll(nl: PfNetlinkHandle, chunkRecords = 4096): { bytes: Uint8Array; count: number; chunks: number } {
  const parts: Uint8Array[] = [];
  const view = new Uint8Array(chunkRecords * R);
  let r;
  let chunks = 0;
  do {
    r = nl.readChunk(view);
    parts.push(view.slice(0, r.records * R));
    chunks++;
  } while (!r.done);
  const bytes = Buffer.concat(parts);
  return { bytes, count: bytes.length / R, chunks };
}

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const idOf = (b: Uint8Array, i: number) => dv(b).getBigUint64(i * R + 8, true);
const creatorOf = (b: Uint8Array, i: number) => dv(b).getUint32(i * R + 256, true);
const ifnameOf = (b: Uint8Array, i: number) => Buffer.from(b.subarray(i * R + 16, i * R + 32)).toString('latin1').replace(/\0.*$/s, '');

// pf_state_export bytes GETSTATES does not carry: updates, qid, pqid, set_tos, set_prio and spares.
const NOT_CARRIED: Array<[number, number]> = [[220, 224], [260, 264], [271, 272], [274, 278], [289, 290], [292, 294], [311, 384]];
function carried(rec: Uint8Array): Uint8Array {
  const c = Uint8Array.from(rec);
  for (const [a, b] of NOT_CARRIED) c.fill(0, a, b);
  return c;
}

/** Records keyed by "id/creatorid", as hex of their carried bytes. */
function byId(bytes: Uint8Array): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < bytes.length / R; i++)
    m.set(`${idOf(bytes, i)}/${creatorOf(bytes, i)}`, Buffer.from(carried(bytes.subarray(i * R, (i + 1) * R))).toString('hex'));
  return m;
}

/** Attributes in [start, end) of a message (default: the top level after the genl header): type -> [payload offset, payload length]. */
function attrs(msg: Uint8Array, start = 20, end = msg.length): Map<number, [number, number]> {
  const m = new Map<number, [number, number]>();
  const v = dv(msg);
  for (let o = start; o + 4 <= end;) {
    const len = v.getUint16(o, true);
    m.set(v.getUint16(o + 2, true) & 0x3fff, [o + 4, len - 4]);
    o += (len + 3) & ~3;
  }
  return m;
}

function v4(a: number, b: number, c: number, d: number): Uint8Array {
  const x = new Uint8Array(16);
  x.set([a, b, c, d]);
  return x;
}
const ones = (n: number) => { const m = new Uint8Array(16); m.fill(0xff, 0, n); return m; };

async function ioctlSnapshot(k: SimKernelHandle): Promise<Snapshot> {
  return PfBackend.onSim(k).read();
}

describe('generic netlink codec', () => {
  const k = sim(14, 3000, 7);

  it('encodes a state as pf_nl.c does: host-order integers, htonl(creatorid), network-order ports, 4-byte aligned attributes', async () => {
    const snap = await ioctlSnapshot(k);
    const rec = Uint8Array.from(snap.bytes.subarray(0, R));
    const d = dv(rec);
    d.setUint32(200, 0x00000007, false); // rule 7, big-endian in the export record
    d.setUint32(212, 1234, false); // creation
    d.setUint32(256, 0x11223344, true); // creatorid, raw
    d.setUint16(272, 0x0102, false); // state_flags
    rec[268] = 0x02; // state_flags_compat: the kernel's V2 export stores its low byte there too
    const msg = native.pfNlEncodeState(rec, 14);
    const m = dv(msg);
    expect(m.getUint32(0, true)).toBe(msg.length);
    expect(msg.length % 4).toBe(0);
    const a = attrs(msg);
    expect(m.getUint32(a.get(10)![0], true)).toBe(7); // PF_ST_RULE host order
    expect(m.getUint32(a.get(13)![0], true)).toBe(1234); // PF_ST_CREATION host order
    expect(m.getUint32(a.get(2)![0], false)).toBe(0x11223344); // PF_ST_CREATORID = htonl(raw)
    expect(m.getUint16(a.get(25)![0], true)).toBe(0x0102); // PF_ST_STATE_FLAGS u16 host order
    expect(a.get(22)![1]).toBe(1); // PF_ST_DIRECTION: a 1-byte payload (nla_len 5, padded to 8)
    expect(m.getUint16(a.get(22)![0] - 4, true)).toBe(5);
    // Ports stay in network order inside the nested key.
    const [ko, kl] = a.get(5)!;
    const key = attrs(msg, ko, ko + kl);
    const [p0] = key.get(3)!;
    expect(Array.from(msg.subarray(p0, p0 + 2))).toEqual(Array.from(rec.subarray(48 + 32, 48 + 34)));
    const [a0, a0len] = key.get(1)!;
    expect(a0len).toBe(rec[264] === 2 ? 4 : 16);
    expect(Array.from(msg.subarray(a0, a0 + a0len))).toEqual(Array.from(rec.subarray(48, 48 + a0len)));
    // And the decoder undoes all of it: the record comes back byte for byte.
    expect(Buffer.from(carried(native.pfNlDecodeState(msg)))).toEqual(Buffer.from(carried(rec)));
  });

  it('round-trips every record of a generated table, 14 and 15 message shapes alike', async () => {
    const snap = await ioctlSnapshot(k);
    for (const major of [14, 15] as const)
      for (let i = 0; i < snap.count; i++) {
        const rec = snap.bytes.subarray(i * R, (i + 1) * R);
        const back = native.pfNlDecodeState(native.pfNlEncodeState(rec, major));
        if (Buffer.compare(carried(back), carried(rec)) !== 0) throw new Error(`record ${i} (${major}) differs`);
      }
  });

  it('skips unknown attributes and NLA_F_NESTED / NLA_F_NET_BYTEORDER flags', async () => {
    const snap = await ioctlSnapshot(k);
    const rec = snap.bytes.subarray(0, R);
    const msg = native.pfNlEncodeState(rec, 15);
    const extra = Uint8Array.from([...msg, 8, 0, 200, 0, 1, 2, 3, 4]); // attribute 200, u32
    dv(extra).setUint32(0, extra.length, true);
    const a = attrs(extra);
    dv(extra).setUint16(a.get(5)![0] - 2, 5 | 0x8000, true); // PF_ST_KEY_WIRE marked nested
    dv(extra).setUint16(a.get(10)![0] - 2, 10 | 0x4000, true); // PF_ST_RULE marked net byte order
    expect(Buffer.from(carried(native.pfNlDecodeState(extra)))).toEqual(Buffer.from(carried(rec)));
  });

  it('round-trips KILLSTATES requests: what statekill builds is what the kernel parses', () => {
    const filter = {
      id: 0x0102030405060708n,
      creatorid: 0xdeadbeef,
      af: 2 as const,
      proto: 17,
      src: { addr: v4(10, 0, 0, 0), mask: ones(3), neg: true, portOp: 2, ports: [53, 0] as [number, number] },
      dst: { addr: v4(192, 0, 2, 1), mask: ones(4), portOp: 9, ports: [1000, 2000] as [number, number] },
      rtAddr: { addr: v4(198, 51, 100, 1), mask: ones(4) },
      ifname: 'igb0',
      label: 'wan-failover',
      killMatch: true,
      nat: true,
    };
    for (const cmd of [8, 9] as const) {
      const bytes = native.pfNlBuildKill(filter, cmd);
      expect(bytes[16]).toBe(cmd);
      const p = native.pfNlParseKill(bytes);
      if (!('id' in p)) throw new Error(`kernel refused the request: errno ${p.errno}`);
      expect(p).toMatchObject({ errno: 0, id: filter.id, creatorid: filter.creatorid, af: 2, proto: 17, ifname: 'igb0', label: 'wan-failover', killMatch: true, nat: true });
      expect(p.src).toMatchObject({ neg: true, portOp: 2, ports: [53, 0] });
      expect(Array.from(p.src.addr)).toEqual(Array.from(filter.src.addr));
      expect(Array.from(p.src.mask)).toEqual(Array.from(filter.src.mask));
      expect(p.dst).toMatchObject({ neg: false, portOp: 9, ports: [1000, 2000] });
      expect(Array.from(p.rtAddr.addr)).toEqual(Array.from(filter.rtAddr.addr));
      expect(Array.from(p.rtAddr.mask)).toEqual(Array.from(filter.rtAddr.mask));
    }
  });

  it('the kernel side refuses a wrong-size attribute in a kill request (EINVAL)', () => {
    const bytes = native.pfNlBuildKill({ id: 5n, creatorid: 1 }, 9);
    const a = attrs(bytes);
    const copy = Uint8Array.from(bytes);
    dv(copy).setUint16(a.get(2)![0] - 4, 7, true); // PF_CS_CMP_CREATORID: 3 bytes
    expect(native.pfNlParseKill(copy).errno).toBe(EINVAL);
  });
});

describe('malformed state messages are rejected, naming the attribute', () => {
  const k = sim(14, 200, 3);
  let msg: Uint8Array;
  const fresh = async () => {
    const snap = await ioctlSnapshot(k);
    msg = native.pfNlEncodeState(snap.bytes.subarray(R, 2 * R), 14);
    return Uint8Array.from(msg);
  };
  const rejects = (bytes: Uint8Array, text: RegExp) => {
    let err: unknown;
    try {
      native.pfNlDecodeState(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StatekillError);
    expect((err as StatekillError).errno).toBe(EBADMSG);
    expect((err as StatekillError).message).toMatch(text);
  };

  it('wrong size for a fixed-size attribute', async () => {
    const m = await fresh();
    dv(m).setUint16(attrs(m).get(10)![0] - 4, 7, true);
    rejects(m, /PF_ST_RULE: 3 bytes, expected 4/);
  });

  it('wrong size inside a nested attribute', async () => {
    const m = await fresh();
    const [ko] = attrs(m).get(5)!; // PF_ST_KEY_WIRE; its first child is PF_STK_ADDR0 (4 bytes for IPv4)
    expect(dv(m).getUint16(ko + 2, true)).toBe(1);
    dv(m).setUint16(ko, 4 + 3, true);
    rejects(m, /PF_ST_KEY_WIRE\.PF_STK_ADDR0: 3 bytes, expected 4 or 16/);
  });

  it('an attribute running past the message', async () => {
    const m = await fresh();
    const [o] = attrs(m).get(8)!; // PF_ST_PEER_DST, the last attribute
    dv(m).setUint16(o - 4, 0x4000, true);
    rejects(m, /PF_ST_PEER_DST \(8\) length 16384 runs past/);
  });

  it('a message length running past the data', async () => {
    const m = await fresh();
    rejects(m.subarray(0, m.length - 4), /runs past the data/);
  });

  it('a state without PF_ST_ID', async () => {
    const m = await fresh();
    dv(m).setUint16(attrs(m).get(1)![0] - 2, 250, true); // renamed to an unknown attribute: skipped
    rejects(m, /PF_ST_ID: missing/);
  });

  it('an interface name longer than IFNAMSIZ', async () => {
    const long = Buffer.from('averyveryverylongifname\0');
    const m = await fresh();
    const [o, len] = attrs(m).get(3)!;
    const out = Buffer.concat([m.subarray(0, o - 4), Buffer.from([long.length + 4, 0, 3, 0]), long,
      Buffer.alloc((4 - (long.length % 4)) % 4), m.subarray(o + ((len + 3) & ~3))]);
    dv(out).setUint32(0, out.length, true);
    rejects(out, /PF_ST_IFNAME: string of 23 bytes/);
  });
});

describe('no input crashes the process', () => {
  it('mutated and truncated messages either decode or throw EBADMSG; kill requests parse or answer an errno', async () => {
    const k = sim(15, 50, 31, true);
    const snap = await ioctlSnapshot(k);
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const base = native.pfNlEncodeState(snap.bytes.subarray(0, R), 15);
    const kill = native.pfNlBuildKill({ rtAddr: { addr: v4(198, 51, 100, 1), mask: ones(4) }, killMatch: true, ifname: 'igb0' }, 9);
    let decoded = 0, refused = 0;
    for (let i = 0; i < 20000; i++) {
      const m = Uint8Array.from(i % 2 ? base : kill);
      for (let j = 1 + rand(4); j > 0; j--) m[rand(m.length)] = rand(256);
      const cut = i % 7 === 0 ? m.subarray(0, rand(m.length)) : m;
      if (i % 2) {
        try {
          native.pfNlDecodeState(cut);
          decoded++;
        } catch (e) {
          expect((e as StatekillError).errno).toBe(EBADMSG);
          refused++;
        }
      } else {
        expect(typeof native.pfNlParseKill(cut).errno).toBe('number');
      }
    }
    expect(decoded).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});

describe('family resolution per personality', () => {
  it('12 and 13 have no pfctl family: ENOENT', () => {
    for (const v of [12, 13] as const) {
      let err: unknown;
      try {
        new native.PfNetlink(sim(v));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StatekillError);
      expect((err as StatekillError).errno).toBe(ENOENT);
    }
  });

  it('14 lists GETSTATES..SET_STATUSIF, including CLRSTATES 8 and KILLSTATES 9, not GET_STATUS', () => {
    const d = new native.PfNetlink(sim(14)).describe();
    expect(d.ops).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(d.familyId).toBeGreaterThan(16);
    expect(d.paths).toEqual({ read: 'GETSTATES', killById: 'KILLSTATES', killByFilter: 'KILLSTATES', flush: 'CLRSTATES', status: 'none', rules: 'GETRULES+GETRULE' });
  });

  it('15 adds GET_STATUS and the rest of the 15-era commands', () => {
    const d = new native.PfNetlink(sim(15)).describe();
    expect(d.ops).toContain(11);
    expect(d.ops.length).toBe(33);
    expect(d.paths.status).toBe('GET_STATUS');
  });

  it('a 14.0 kernel listing only 1-4 reads over netlink and kills over the ioctls', async () => {
    const k = sim(14, 2000, 5);
    const b = PfNetlinkBackend.onSim(k, { ops: [1, 2, 3, 4] });
    const d = b.describe();
    expect(d.paths).toMatchObject({ read: 'netlink GETSTATES', killById: 'DIOCKILLSTATES', killByFilter: 'DIOCKILLSTATESNV' });
    const snap = await b.read();
    const out = new Int32Array(3);
    b.kill(snap, Int32Array.from([0, 1, 2]), out);
    expect(Array.from(out)).toEqual([0, 0, 0]);
    expect(k.count()).toBe(snap.count - 3);
    const raw = new native.PfNetlink(k, { ops: [1, 2, 3, 4] });
    expect(() => raw.killByIds(new BigUint64Array([1n]), new Uint32Array(1), new Int32Array(1))).toThrow(/lists no KILLSTATES/);
  });

  it('the real socket is FreeBSD-only: ENOTSUP here', () => {
    if (process.platform === 'freebsd') return; // on FreeBSD the real-kernel tests below apply instead
    let err: unknown;
    try {
      PfNetlinkBackend.open();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StatekillError);
    expect((err as StatekillError).errno).toBe(ENOTSUP);
    expect((err as StatekillError).message).toMatch(/pf netlink needs FreeBSD 14\+/);
  });
});

describe('GETSTATES stream', () => {
  it('arrives in chunks: whole records, done only at the end', () => {
    const k = sim(14, 10000, 11);
    const nl = new native.PfNetlink(k);
    const view = new Uint8Array(1000 * R + 100); // not a whole number of records
    const first = nl.readChunk(view);
    expect(first).toEqual({ records: 1000, done: false });
    const rest = readAll(nl, 1000);
    expect(first.records + rest.count).toBe(10000);
    // The next read is a fresh dump of the whole table.
    expect(readAll(nl).count).toBe(10000);
  });

  it('startRead uses the kernel-side filters: ifname, af, proto, address', async () => {
    const k = sim(14, 20000, 12);
    const all = await ioctlSnapshot(k);
    const nl = new native.PfNetlink(k);
    const count = (pred: (i: number) => boolean) => { let n = 0; for (let i = 0; i < all.count; i++) if (pred(i)) n++; return n; };
    nl.startRead({ ifname: 'igb3' });
    const byIf = readAll(nl);
    expect(byIf.count).toBe(count((i) => ifnameOf(all.bytes, i) === 'igb3'));
    expect(byIf.count).toBeGreaterThan(0);
    nl.startRead({ af: 28 });
    expect(readAll(nl).count).toBe(count((i) => all.bytes[i * R + 264] === 28));
    nl.startRead({ proto: 17 });
    const udp = readAll(nl);
    expect(udp.count).toBe(count((i) => all.bytes[i * R + 265] === 17));
    expect(udp.count).toBeGreaterThan(0);
    const wan2 = v4(203, 0, 113, 2);
    nl.startRead({ addr: wan2 });
    const hits = readAll(nl);
    const hasAddr = (i: number) => [48, 64, 84, 100].some((o) => Buffer.compare(all.bytes.subarray(i * R + o, i * R + o + 4), wan2.subarray(0, 4)) === 0);
    expect(hits.count).toBe(count(hasAddr));
    expect(hits.count).toBeGreaterThan(0);
  });

  it('readChunks yields chunks before the stream ends; kept chunks are views of one table', async () => {
    const k = sim(14, 30000, 13);
    const b = PfNetlinkBackend.onSim(k);
    const seen: Array<{ offset: number; count: number; last: boolean }> = [];
    let whole: Snapshot | undefined;
    for await (const c of b.readChunks(4096)) {
      seen.push({ offset: c.offset, count: c.snapshot.count, last: !!c.whole });
      if (c.whole) whole = c.whole;
    }
    expect(seen.length).toBeGreaterThan(7);
    expect(seen.filter((s) => s.last)).toHaveLength(1);
    expect(seen[0]).toMatchObject({ offset: 0, count: 4096, last: false });
    let off = 0;
    for (const s of seen) {
      expect(s.offset).toBe(off);
      off += s.count;
    }
    expect(whole!.count).toBe(30000);
    expect(byId(whole!.bytes)).toEqual(byId((await ioctlSnapshot(k)).bytes));
  });

  it('ring mode reuses its chunk buffers', async () => {
    const k = sim(14, 10000, 14);
    const b = PfNetlinkBackend.onSim(k);
    const buffers = new Set<ArrayBufferLike>();
    let total = 0;
    for await (const c of b.readChunks(1000, { keep: false, ring: 3 })) {
      buffers.add(c.snapshot.bytes.buffer);
      total += c.snapshot.count;
      expect(c.whole).toBeUndefined();
    }
    expect(total).toBe(10000);
    expect(buffers.size).toBe(3);
  });

  it('a malformed message mid-stream fails the read, names the attribute and kills nothing', async () => {
    const k = sim(14, 5000, 15);
    // The simulated kernel's 3000th state message carries a 3-byte PF_ST_RULE.
    const table = await openTable({ backend: PfNetlinkBackend.onSim(k, { corruptState: 3000 }) });
    const selections: Selection[] = [{ gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }];
    await expect(table.kill(selections, { workers: 1 })).rejects.toMatchObject({ errno: EBADMSG, message: expect.stringMatching(/PF_ST_RULE: 3 bytes/) });
    expect(k.count()).toBe(5000);
    const b = PfNetlinkBackend.onSim(k, { corruptState: 3000 });
    await expect(streamSelect(b, selections, { chunkRecords: 1024, workers: 2 })).rejects.toMatchObject({ errno: EBADMSG });
    expect(k.count()).toBe(5000);
    // The same kernel without the fault reads and kills normally.
    const ok = await openTable({ backend: PfNetlinkBackend.onSim(k) });
    const r = await ok.kill(selections, { workers: 1 });
    expect(r.report.killed).toBeGreaterThan(100);
    await table.close();
  });

  it('streamSelect selects chunk by chunk to the same result as selecting the whole read', async () => {
    const k = sim(14, 50000, 16);
    const b = PfNetlinkBackend.onSim(k);
    const selections: Selection[] = [{ name: 'WAN1', gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }];
    const s = await streamSelect(b, selections, { chunkRecords: 8192, workers: 2 });
    expect(s.chunks).toBeGreaterThan(5);
    expect(s.firstChunkMs).toBeLessThan(s.readMs);
    const whole = await b.read();
    const direct = await selectStates(whole, selections.map((x, i) => compileSelection(x, i)), 2);
    expect(s.selected.indices.length).toBeGreaterThan(1000);
    expect(Array.from(s.selected.indices)).toEqual(Array.from(direct.indices));
    expect(Array.from(s.selected.masks)).toEqual(Array.from(direct.masks));
    const sp = await streamPlan(b, selections, { chunkRecords: 8192, workers: 2 });
    const bp = await buildPlan(whole, selections, { workers: 2 });
    expect(sp.plan.counts).toEqual(bp.counts);
    expect(Array.from(sp.plan.ids!)).toEqual(Array.from(bp.ids!));
  });
});

describe('kills over netlink', () => {
  it('killByIds: per-entry results across batch boundaries; id 0 refused without sending', async () => {
    const k = sim(14, 3000, 21);
    const b = PfNetlinkBackend.onSim(k);
    const snap = await b.read();
    const nl = new native.PfNetlink(k);
    const n = 20;
    const ids = new BigUint64Array(n);
    const creators = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = idOf(snap.bytes, i);
      creators[i] = creatorOf(snap.bytes, i);
    }
    ids[3] = 0n; // would be a kill-everything filter if sent
    ids[7] = ids[6]; // killed twice: the second is already gone
    creators[7] = creators[6];
    creators[11] = creators[11] ^ 1; // no such (id, creatorid)
    const out = new Int32Array(n);
    const t = nl.killByIds(ids, creators, out, 4);
    const want = Array.from({ length: n }, (_, i) => (i === 3 ? -EINVAL : i === 7 || i === 11 ? 1 : 0));
    expect(Array.from(out)).toEqual(want);
    expect(t).toEqual({ killed: 17, alreadyGone: 2, failed: 1 });
    expect(k.count()).toBe(3000 - 17);
  });

  it('creatorid byte order: a netlink-dumped creatorid is htonl(raw); the record keeps raw, which kills', async () => {
    const k = sim(14, 500, 22);
    const nl = new native.PfNetlink(k);
    const { bytes } = readAll(nl);
    expect(creatorOf(bytes, 0)).toBe(HOSTID); // raw, as the ioctl export carries it
    const msg = native.pfNlEncodeState(bytes.subarray(0, R), 14);
    const [o] = attrs(msg).get(2)!;
    const dumped = dv(msg).getUint32(o, true);
    expect(dumped).toBe(0xdec0ad0b); // htonl(0x0badc0de) on a little-endian host
    const out = new Int32Array(1);
    // Passing the dumped value back unchanged names a state that does not exist...
    nl.killByIds(new BigUint64Array([idOf(bytes, 0)]), new Uint32Array([dumped]), out);
    expect(out[0]).toBe(1);
    // ...the record's raw value (ntohl(dumped)) kills it.
    nl.killByIds(new BigUint64Array([idOf(bytes, 0)]), new Uint32Array([creatorOf(bytes, 0)]), out);
    expect(out[0]).toBe(0);
    expect(k.count()).toBe(499);
  });

  it('killByFilter refuses a filter that matches everything', () => {
    const k = sim(14, 1000, 23);
    const nl = new native.PfNetlink(k);
    for (const f of [{}, { killMatch: true }, { src: { addr: v4(10, 0, 0, 1) } }]) {
      let err: unknown;
      try {
        nl.killByFilter(f);
      } catch (e) {
        err = e;
      }
      expect((err as StatekillError).code).toBe('E_UNSAFE_FILTER');
    }
    expect(k.count()).toBe(1000);
  });
});

describe('differential: the ioctl path and the netlink path on identical tables', () => {
  for (const version of [14, 15] as const) {
    it(`FreeBSD ${version}: same records, same plan, same kills, same survivors`, async () => {
      const seed = 1000 + version;
      const ka = sim(version, 50000, seed, true);
      const kb = sim(version, 50000, seed, true);
      const ioctl = PfBackend.onSim(ka);
      const netlink = PfNetlinkBackend.onSim(kb);
      expect(ioctl.describe().paths.read).toBe('DIOCGETSTATESV2');
      expect(netlink.describe().paths.read).toBe('netlink GETSTATES');

      const [ra, rb] = [await ioctl.read(), await netlink.read()];
      expect(rb.count).toBe(ra.count);
      expect(byId(rb.bytes)).toEqual(byId(ra.bytes));

      const selections: Selection[] = [
        { name: 'WAN2', gateways: [{ af: 'inet', addr: '203.0.113.1', prefix: 32 }] },
        { name: 'WAN2 v6', gateways: [{ af: 'inet6', addr: 'fe80::1', prefix: 128, ifname: 'igb3' }] },
      ];
      const ta = await openTable({ backend: ioctl });
      const tb = await openTable({ backend: netlink });
      const a = await ta.kill(selections, { workers: 2 });
      const b = await tb.kill(selections, { workers: 2 });
      const sorted = (x: BigUint64Array) => Array.from(x).sort((p, q) => (p < q ? -1 : p > q ? 1 : 0));
      expect(a.plan.indices.length).toBeGreaterThan(1000);
      expect(sorted(b.plan.ids!)).toEqual(sorted(a.plan.ids!));
      expect(b.report.killed).toBe(a.report.killed);
      expect(b.report.failed).toBe(0);
      expect(byId((await netlink.read()).bytes)).toEqual(byId((await ioctl.read()).bytes));

      // The kernel's own filter kill: gateway WAN1 with kill_match (opposite-direction partners).
      const gw = { rtAddr: { addr: v4(198, 51, 100, 1), mask: ones(4) }, killMatch: true };
      const ca = ioctl.killByFilter(gw);
      const cb = netlink.killByFilter(gw);
      expect(ca).toBeGreaterThan(1000);
      expect(cb).toBe(ca);
      expect(kb.count()).toBe(ka.count());
      expect(byId((await netlink.read()).bytes)).toEqual(byId((await ioctl.read()).bytes));

      // CLRSTATES on one interface, then everything.
      expect(netlink.flush('igb3')).toBe(ioctl.flush('igb3'));
      expect(byId((await netlink.read()).bytes)).toEqual(byId((await ioctl.read()).bytes));
      const left = ka.count();
      expect(netlink.flush()).toBe(left);
      expect(kb.count()).toBe(0);
      await ta.close();
      await tb.close();
    });
  }
});
