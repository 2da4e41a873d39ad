// The libnv-compatible nvlist codec and pf's NV request/reply shapes, checked against the golden
// vectors produced by real FreeBSD libnv (test/fixtures/nvlist-vectors, a copy of
// shared/nvlist-vectors; FORMAT.md there explains every byte).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { StatekillError } from '../src/errors.js';
import type { NvListNode, NvNode, NvPairs } from '../src/native/types-nvlist.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/nvlist-vectors');
const EINVAL = 22, ERANGE = 34, E2BIG = 7, EEXIST = 17, EBADMSG = 74, EILSEQ = 84;

interface Encoding {
  file: string;
  byte_order: 'little-endian' | 'big-endian';
  nested_nvlist_datasize_rule: 'fbsd14' | 'fbsd13';
  length: number;
}
interface Vector { name: string; content: NvListNode; encodings: Encoding[] }
interface Negative {
  name: string;
  file: string;
  nvlist_unpack_flags_argument: number;
  libnv_verdict: 'accepts' | 'rejects';
  real_libnv_result: { libnv_2021: string };
}
const spec = JSON.parse(readFileSync(path.join(dir, 'vectors.json'), 'utf8')) as {
  vectors: Vector[];
  negative_vectors: Negative[];
};
const bytesOf = (file: string) => new Uint8Array(Buffer.from(readFileSync(path.join(dir, file), 'utf8').replace(/\s/g, ''), 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const vector = (prefix: string) => spec.vectors.find((v) => v.name.startsWith(prefix))!;
const optsFor = (e: Encoding) => ({
  bigEndian: e.byte_order === 'big-endian',
  legacyNestedSize: e.nested_nvlist_datasize_rule === 'fbsd13',
});
const hasArray = (pairs: NvPairs): boolean =>
  pairs.some(([, n]) => n.type.endsWith('_array') || (n.type === 'nvlist' && hasArray(n.value)));

function thrown(f: () => unknown): StatekillError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StatekillError);
    return e as StatekillError;
  }
  throw new Error('expected a throw');
}

// Deep copy of content with a transformation applied to the pairs at a dotted path.
function edit(content: NvListNode, at: string[], change: (pairs: NvPairs) => NvPairs): NvListNode {
  const copy = structuredClone(content);
  let pairs = copy.value;
  for (const key of at) pairs = (pairs.find(([k]) => k === key)![1] as NvListNode).value;
  const changed = change(pairs);
  pairs.splice(0, pairs.length, ...changed);
  return copy;
}
const without = (content: NvListNode, at: string[], key: string) => edit(content, at, (p) => p.filter(([k]) => k !== key));
const setting = (content: NvListNode, at: string[], key: string, node: NvNode) =>
  edit(content, at, (p) => {
    const i = p.findIndex(([k]) => k === key);
    if (i < 0) return [...p, [key, node]];
    p[i] = [key, node];
    return p;
  });

describe('nvlist pack: every golden vector byte for byte', () => {
  for (const v of spec.vectors) {
    for (const e of v.encodings) {
      it(e.file, () => {
        const out = native.nvPack(v.content, optsFor(e));
        expect(out.length).toBe(e.length);
        expect(hex(out)).toBe(hex(bytesOf(e.file)));
      });
    }
  }
});

describe('nvlist unpack of the golden vectors', () => {
  for (const v of spec.vectors) {
    for (const e of v.encodings) {
      const foreignArrays = e.byte_order === 'big-endian' && hasArray(v.content.value);
      it(`${e.file} ${foreignArrays ? 'fails like amd64 libnv (nitems unswapped)' : 'gives the content'}`, () => {
        const bytes = bytesOf(e.file);
        if (foreignArrays) {
          // libnv swaps namesize/datasize but not nitems: every array then fails its size check.
          expect(thrown(() => native.nvUnpack(bytes)).errno).toBe(EINVAL);
        } else {
          expect(native.nvUnpack(bytes)).toEqual(v.content);
        }
        // With nitems swapped too (libnv's "diagnostic change"), every encoding decodes.
        expect(native.nvUnpack(bytes, { swapForeignNitems: true })).toEqual(v.content);
      });
    }
  }

  it('unpack(pack(x)) == x under every pack option', () => {
    for (const v of spec.vectors) {
      for (const bigEndian of [false, true]) {
        for (const legacyNestedSize of [false, true]) {
          const bytes = native.nvPack(v.content, { bigEndian, legacyNestedSize });
          expect(native.nvUnpack(bytes, { swapForeignNitems: true })).toEqual(v.content);
        }
      }
    }
  });
});

describe('nvlist unpack of the negative vectors: libnv verdict and errno', () => {
  for (const n of spec.negative_vectors) {
    it(`${n.name} ${n.libnv_verdict}`, () => {
      const run = () => native.nvUnpack(bytesOf(n.file), { flags: n.nvlist_unpack_flags_argument });
      if (n.libnv_verdict === 'accepts') {
        expect(run().type).toBe('nvlist');
      } else {
        const want = n.real_libnv_result.libnv_2021.includes('EILSEQ') ? EILSEQ : EINVAL;
        const e = thrown(run);
        expect(e.errno).toBe(want);
        expect(e.message).toMatch(/^nvlist: .* at offset \d+$/);
      }
    });
  }

  it('names the pair and offset at fault', () => {
    const e = thrown(() => native.nvUnpack(bytesOf('negative/neg_a_nested_datasize_0.hex')));
    expect(e.message).toBe("nvlist: pair 'cmp' (nvlist) datasize 0 at offset 19");
  });
});

describe('nvlist unpack follows libnv on hand-made buffers', () => {
  const two: NvListNode = { type: 'nvlist', value: [['ab', { type: 'number', value: '1' }], ['cd', { type: 'number', value: '2' }]] };
  const rename = (bytes: Uint8Array, from: string, to: string) => {
    const b = Buffer.from(bytes);
    b.write(to, b.indexOf(from + '\0'), 'latin1');
    return new Uint8Array(b);
  };

  it('refuses a duplicate name with EEXIST, allows it under NO_UNIQUE', () => {
    const dup = rename(native.nvPack(two), 'cd', 'ab');
    expect(thrown(() => native.nvUnpack(dup)).errno).toBe(EEXIST);
    const dupNoUnique = rename(native.nvPack(two, { flags: 2 }), 'cd', 'ab');
    expect(native.nvUnpack(dupNoUnique, { flags: 2 }).value.map(([k]) => k)).toEqual(['ab', 'ab']);
  });

  it('compares names case-insensitively under IGNORE_CASE', () => {
    const bytes = rename(native.nvPack(two, { flags: 1 }), 'cd', 'AB');
    expect(thrown(() => native.nvUnpack(bytes, { flags: 1 })).errno).toBe(EEXIST);
    expect(native.nvUnpack(rename(native.nvPack(two), 'cd', 'AB')).value.map(([k]) => k)).toEqual(['ab', 'AB']);
  });

  it('refuses markers with no open list, descriptors, type 0, and a caller flag mismatch', () => {
    const e = native.nvPack(spec.vectors.find((v) => v.name.startsWith('e_'))!.content);
    for (const type of [0xff, 0xfe, 6, 12, 0, 13]) {
      const b = new Uint8Array(e);
      b[19] = type;
      expect(thrown(() => native.nvUnpack(b)).errno, `type ${type}`).toBe(EINVAL);
    }
    expect(thrown(() => native.nvUnpack(e, { flags: 1 })).errno).toBe(EILSEQ);
  });

  it('accepts a buffer that ends with lists still open (UP marker dropped, sizes fixed)', () => {
    const i = native.nvPack({ type: 'nvlist', value: [['n', { type: 'nvlist', value: [['x', { type: 'bool', value: true }]] }]] });
    const open = new Uint8Array(i.subarray(0, i.length - 20));
    const view = new DataView(open.buffer);
    view.setBigUint64(11, BigInt(open.length - 19), true);
    view.setBigUint64(19 + 19 + 2 + 11, BigInt(open.length - (19 + 19 + 2) - 19), true);
    expect(native.nvUnpack(open)).toEqual({ type: 'nvlist', value: [['n', { type: 'nvlist', value: [['x', { type: 'bool', value: true }]] }]] });
    // Without the size fixes the same cut is refused.
    expect(thrown(() => native.nvUnpack(i.subarray(0, i.length - 20))).errno).toBe(EINVAL);
  });

  it('bounds nesting depth on pack and unpack', () => {
    let node: NvListNode = { type: 'nvlist', value: [] };
    for (let d = 0; d < 100; d++) node = { type: 'nvlist', value: [['n', node]] };
    expect(thrown(() => native.nvPack(node)).errno).toBe(EINVAL);
    let ok: NvListNode = { type: 'nvlist', value: [] };
    for (let d = 0; d < 60; d++) ok = { type: 'nvlist', value: [['n', ok]] };
    expect(native.nvUnpack(native.nvPack(ok))).toEqual(ok);
  });

  it('refuses content libnv refuses to build', () => {
    const bad: NvPairs[] = [
      [['x', { type: 'number_array', value: [] }]],
      [['x', { type: 'binary', value: '' }]],
      [['x', { type: 'null' }], ['x', { type: 'null' }]],
      [['x'.repeat(2048), { type: 'null' }]],
      [['x', { type: 'number', value: '18446744073709551616' }]],
      [['x', { type: 'number', value: '-1' }]],
      [['x', { type: 'binary', value: 'abc' }]],
      [['x', { type: 'string', value: 'a\0b' }]],
    ];
    for (const value of bad) expect(thrown(() => native.nvPack({ type: 'nvlist', value })).errno).toBe(EINVAL);
    expect(native.nvPack({ type: 'nvlist', value: [['x'.repeat(2047), { type: 'null' }]] }).length).toBe(19 + 19 + 2048);
  });
});

describe('kill/clear requests: libpfctl side builds the vectors from a KillFilter', () => {
  const filters = {
    a_: { id: 'a100000000000000', creatorid: 0x0badc0de },
    b_: { af: 2, kill_match: true, rt_addr: { addr: 'c6336401' + '00'.repeat(12), mask: 'ffffffff' + '00'.repeat(12) } },
    c_: { af: 28, kill_match: true, rt_addr: { addr: '20010db8000100000000000000000001', mask: 'ff'.repeat(16) } },
    d_: { ifname: 'igb0', kill_match: true },
    g_: { af: 2, kill_match: true, rt_addr: { addr: 'c6336401' + '00'.repeat(12), mask: 'ffffffff' + '00'.repeat(12) } },
  };
  for (const [prefix, filter] of Object.entries(filters)) {
    const v = vector(prefix);
    for (const e of v.encodings) {
      it(e.file, () => {
        const out = native.nvBuildKillRequest(filter, { ...optsFor(e), alwaysIncludeNat: prefix === 'g_' });
        expect(hex(out)).toBe(hex(bytesOf(e.file)));
      });
    }
  }

  it('adds "nat" only when set (or asked for), as the last key', () => {
    const withNat = native.nvUnpack(native.nvBuildKillRequest({ nat: true }));
    expect(withNat.value.map(([k]) => k)).toEqual(['cmp', 'af', 'proto', 'src', 'dst', 'rt_addr', 'ifname', 'label', 'kill_match', 'nat']);
    expect(withNat.value[9][1]).toEqual({ type: 'bool', value: true });
    expect(native.nvUnpack(native.nvBuildKillRequest({})).value.map(([k]) => k)).not.toContain('nat');
  });

  it('writes ifname/tblname for dynamic and table addresses', () => {
    const req = native.nvUnpack(native.nvBuildKillRequest({ src: { type: 2, ifname: 'em0' }, dst: { type: 3, tblname: 'bad_hosts' } }));
    const src = (req.value[3][1] as NvListNode).value[0][1] as NvListNode;
    const dst = (req.value[4][1] as NvListNode).value[0][1] as NvListNode;
    expect(src.value.map(([k]) => k)).toEqual(['type', 'iflags', 'ifname', 'addr', 'mask']);
    expect(src.value[2][1]).toEqual({ type: 'string', value: 'em0' });
    expect(dst.value[2]).toEqual(['tblname', { type: 'string', value: 'bad_hosts' }]);
  });
});

describe('kill/clear requests: the kernel-side parse (pf_nvstate_kill_to_kstate_kill)', () => {
  const zero = { type: 0, iflags: 0, addr: '00'.repeat(16), mask: '00'.repeat(16), port: [0, 0] as [number, number], neg: 0, port_op: 0 };
  const base = {
    id: '0000000000000000', creatorid: 0, direction: 0, af: 0, proto: 0,
    src: zero, dst: zero, rt_addr: zero, ifname: '', label: '', kill_match: false, nat: false,
  };
  const gw4 = { ...zero, addr: 'c6336401' + '00'.repeat(12), mask: 'ffffffff' + '00'.repeat(12) };
  const expected: Record<string, object> = {
    a_: { ...base, id: 'a100000000000000', creatorid: 0x0badc0de },
    b_: { ...base, af: 2, rt_addr: gw4, kill_match: true },
    c_: { ...base, af: 28, rt_addr: { ...zero, addr: '20010db8000100000000000000000001', mask: 'ff'.repeat(16) }, kill_match: true },
    d_: { ...base, ifname: 'igb0', kill_match: true },
    g_: { ...base, af: 2, rt_addr: gw4, kill_match: true },
  };
  for (const [prefix, filter] of Object.entries(expected)) {
    it(`${vector(prefix).name}: every field`, () => {
      for (const e of vector(prefix).encodings.filter((x) => x.byte_order === 'little-endian')) {
        expect(native.nvKillRequestFromContent(bytesOf(e.file))).toEqual({ ok: true, errno: 0, filter });
      }
      expect(native.nvKillRequestFromContent(vector(prefix).content)).toEqual({ ok: true, errno: 0, filter });
    });
  }

  it('answers a big-endian request as the amd64 kernel does: EBADMSG from the unpack', () => {
    const r = native.nvKillRequestFromContent(bytesOf('b_killstates_gateway_v4.be.hex'));
    expect(r).toMatchObject({ ok: false, errno: EBADMSG, stage: 'unpack', unpackErrno: EINVAL });
    const flagged = native.nvPack(vector('b_').content, { flags: 1 });
    expect(native.nvKillRequestFromContent(flagged)).toMatchObject({ ok: false, errno: EBADMSG, unpackErrno: EILSEQ });
  });

  const b = vector('b_').content;
  const required: [string[], string][] = [
    [[], 'cmp'], [['cmp'], 'id'], [['cmp'], 'creatorid'], [['cmp'], 'direction'], [[], 'af'], [[], 'proto'],
    [[], 'src'], [[], 'dst'], [['src'], 'addr'], [['src'], 'port'], [['src'], 'neg'], [['src'], 'port_op'],
    [['src', 'addr'], 'type'], [['src', 'addr'], 'iflags'], [['src', 'addr'], 'addr'], [['src', 'addr'], 'mask'],
    [['dst', 'addr', 'mask'], 'addr'], [['rt_addr', 'addr', 'addr'], 'addr'], [['rt_addr'], 'port_op'],
    [[], 'ifname'], [[], 'label'], [[], 'kill_match'],
  ];
  for (const [at, key] of required) {
    it(`missing ${[...at, key].join('.')} -> EINVAL`, () => {
      expect(native.nvKillRequestFromContent(without(b, at, key))).toMatchObject({ ok: false, errno: EINVAL, stage: 'parse' });
    });
  }

  const num = (value: string): NvNode => ({ type: 'number', value });
  const cases: [string, string[], string, NvNode, number][] = [
    ['af as a string', [], 'af', { type: 'string', value: '2' }, EINVAL],
    ['kill_match as a number', [], 'kill_match', num('1'), EINVAL],
    ['cmp as a number', [], 'cmp', num('0'), EINVAL],
    ['af 256', [], 'af', num('256'), ERANGE],
    ['direction 256', ['cmp'], 'direction', num('256'), ERANGE],
    ['creatorid 2^32', ['cmp'], 'creatorid', num('4294967296'), ERANGE],
    ['proto 2^31', [], 'proto', num('2147483648'), ERANGE],
    ['port with 3 items', ['src'], 'port', { type: 'number_array', value: ['0', '0', '0'] }, E2BIG],
    ['port 65536', ['src'], 'port', { type: 'number_array', value: ['65536', '0'] }, ERANGE],
    ['port_op 10', ['src'], 'port_op', num('10'), EINVAL],
    ['neg 256', ['src'], 'neg', num('256'), ERANGE],
    ['address type 6', ['src', 'addr'], 'type', num('6'), EINVAL],
    ['address type 2 without ifname', ['src', 'addr'], 'type', num('2'), EINVAL],
    ['iflags 256', ['src', 'addr'], 'iflags', num('256'), ERANGE],
    ['addr of 17 bytes', ['src', 'addr', 'addr'], 'addr', { type: 'binary', value: '00'.repeat(17) }, EINVAL],
    ['ifname of 16 bytes', [], 'ifname', { type: 'string', value: 'x'.repeat(16) }, EINVAL],
    ['label of 64 bytes', [], 'label', { type: 'string', value: 'x'.repeat(64) }, EINVAL],
  ];
  for (const [what, at, key, node, errno] of cases) {
    it(`${what} -> ${errno}`, () => {
      expect(native.nvKillRequestFromContent(setting(b, at, key, node))).toMatchObject({ ok: false, errno, stage: 'parse' });
    });
  }

  it('takes the fields the kernel takes, the way it takes them', () => {
    const parse = (c: NvListNode) => {
      const r = native.nvKillRequestFromContent(c);
      if (!r.ok) throw new Error(r.message);
      return r.filter;
    };
    expect(parse(without(b, [], 'rt_addr')).rt_addr).toEqual(zero); // optional
    expect(parse(setting(b, [], 'proto', num('18446744073709551615'))).proto).toBe(-1); // int64 view
    expect(parse(setting(b, [], 'nat', { type: 'bool', value: true })).nat).toBe(true);
    expect(parse(setting(b, [], 'nat', num('1'))).nat).toBe(false); // not a bool: ignored
    expect(parse(setting(b, [], 'extra', num('1'))).af).toBe(2); // unknown keys ignored
    expect(parse(setting(b, ['src', 'addr', 'addr'], 'addr', { type: 'binary', value: '0a000001' })).src.addr).toBe('0a000001' + '00'.repeat(12));
    expect(parse(setting(b, ['src'], 'port', { type: 'number_array', value: ['20480', '65535'] })).src.port).toEqual([20480, 65535]);
    // #12 finding 5: pf_nv.c's pf_nvuint16_array takes up to 2 items; one item leaves port[1] zero.
    expect(parse(setting(b, ['dst'], 'port', { type: 'number_array', value: ['20480'] })).dst.port).toEqual([20480, 0]);
    expect(parse(setting(b, ['cmp'], 'id', num('18446744073709551615'))).id).toBe('ffffffffffffffff');
    expect(parse(setting(b, [], 'label', { type: 'string', value: 'x'.repeat(63) })).label).toBe('x'.repeat(63));
    // A dynamic address's ifname shares the union with addr, which is written after it.
    const dyn = setting(setting(b, ['src', 'addr'], 'type', num('2')), ['src', 'addr'], 'ifname', { type: 'string', value: 'em0' });
    expect(parse(dyn).src).toMatchObject({ type: 2, addr: '00'.repeat(16) });
  });

  it('parse(build(filter)) == filter', () => {
    const filter = {
      ...base, id: '0123456789abcdef', creatorid: 0xfeedface, direction: 2, af: 28, proto: 6,
      src: { ...zero, addr: 'fe80' + '00'.repeat(13) + '01', mask: 'ff'.repeat(8) + '00'.repeat(8), port: [0x5000, 0] as [number, number], neg: 1, port_op: 2 },
      dst: { ...zero, type: 1, iflags: 3, port: [1, 2] as [number, number], port_op: 8 },
      rt_addr: { ...zero, addr: '20010db8000100000000000000000001', mask: 'ff'.repeat(16) },
      ifname: 'vtnet0', label: 'wan-gw', kill_match: true, nat: true,
    };
    for (const opts of [{}, { legacyNestedSize: true }]) {
      expect(native.nvKillRequestFromContent(native.nvBuildKillRequest(filter, opts))).toEqual({ ok: true, errno: 0, filter });
    }
  });
});

describe('the {killed} reply', () => {
  it('is vector e both ways', () => {
    expect(hex(native.nvBuildKilledReply(1234))).toBe(hex(bytesOf('e_reply_killed_1234.le.hex')));
    expect(hex(native.nvBuildKilledReply(1234, { bigEndian: true }))).toBe(hex(bytesOf('e_reply_killed_1234.be.hex')));
    expect(native.nvParseKilledReply(bytesOf('e_reply_killed_1234.le.hex'))).toBe(1234);
    expect(native.nvParseKilledReply(bytesOf('e_reply_killed_1234.be.hex'))).toBe(1234);
    expect(native.nvParseKilledReply(native.nvBuildKilledReply(4294967295))).toBe(4294967295);
  });

  it('refuses replies without a u32 "killed"', () => {
    expect(thrown(() => native.nvParseKilledReply(bytesOf('h_empty_nvlist.le.hex'))).errno).toBe(EINVAL);
    const big = native.nvPack({ type: 'nvlist', value: [['killed', { type: 'number', value: '4294967296' }]] });
    expect(thrown(() => native.nvParseKilledReply(big)).errno).toBe(ERANGE);
    expect(thrown(() => native.nvParseKilledReply(bytesOf('negative/neg_e_bad_magic.hex'))).errno).toBe(EINVAL);
  });
});

describe('the DIOCGETSTATUSNV reply (pf_getstatus)', () => {
  it('has the kernel key order and counter groups', () => {
    const c = native.nvUnpack(native.nvBuildStatusReply({ running: true, states: 7, hostid: 0xdeadbeef, since: '1700000000' }));
    expect(c.value.map(([k]) => k)).toEqual([
      'running', 'since', 'debug', 'hostid', 'states', 'src_nodes', 'reass', 'syncookies_active',
      'counters', 'lcounters', 'fcounters', 'scounters', 'ifname', 'chksum', 'pcounters', 'bcounters',
    ]);
    const counters = c.value[8][1] as NvListNode;
    expect(counters.value.map(([k]) => k)).toEqual(['counters', 'names', 'ids']);
    expect((counters.value[1][1] as { value: string[] }).value.slice(0, 2)).toEqual(['match', 'bad-offset']);
    expect((counters.value[2][1] as { value: string[] }).value).toEqual([...Array(16).keys()].map(String));
    expect(c.value[14][1]).toEqual({ type: 'number_array', value: Array(8).fill('0') });
    expect(c.value[13][1]).toEqual({ type: 'binary', value: '00'.repeat(16) });
  });

  it('parses what it builds, and the 13.x shape without reass', () => {
    const status = {
      ...native.nvDefaultStatus(), running: true, since: '1700000000', debug: 1, hostid: 0xdeadbeef, states: 123456,
      src_nodes: 3, reass: 1, syncookies_active: true, ifname: 'em0', chksum: '000102030405060708090a0b0c0d0e0f',
      pcounters: ['1', '2', '3', '4', '5', '6', '7', '18446744073709551615'], bcounters: ['9', '8', '7', '6'],
    };
    status.counters = { ...status.counters, values: status.counters.values.map((_, i) => String(i * 10)) };
    expect(native.nvParseStatusReply(native.nvBuildStatusReply(status))).toEqual(status);
    const old = native.nvParseStatusReply(native.nvBuildStatusReply({ ...status, has_reass: false }));
    expect(old).toEqual({ ...status, has_reass: false, reass: 0, syncookies_active: false });
  });

  it('requires running/since/debug/hostid/states/src_nodes', () => {
    const full = native.nvUnpack(native.nvBuildStatusReply({}));
    for (const key of ['running', 'since', 'debug', 'hostid', 'states', 'src_nodes']) {
      const bytes = native.nvPack(without(full, [], key));
      expect(thrown(() => native.nvParseStatusReply(bytes)).errno, key).toBe(EINVAL);
    }
    const bytes = native.nvPack(setting(full, [], 'states', { type: 'number', value: '4294967296' }));
    expect(thrown(() => native.nvParseStatusReply(bytes)).errno).toBe(ERANGE);
  });
});

describe('unpack never crashes on mutated input', () => {
  it('20k mutations of every vector: a clean result or a StatekillError, never anything else', () => {
    let seed = 0x2545f491;
    const rand = (n: number) => {
      seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const corpus = spec.vectors.flatMap((v) => v.encodings.map((e) => bytesOf(e.file)));
    const allowed = new Set([EINVAL, EILSEQ, EEXIST, 12 /* ENOMEM */]);
    const counts = { accepted: 0, rejected: 0 };
    for (let n = 0; n < 20000; n++) {
      const src = corpus[rand(corpus.length)];
      let b = new Uint8Array(src);
      const edits = 1 + rand(4);
      for (let k = 0; k < edits; k++) {
        const op = rand(6);
        if (op === 0 && b.length) b[rand(b.length)] ^= 1 << rand(8);
        else if (op === 1 && b.length) b[rand(b.length)] = [0, 1, 0xff, 0xfe, 0x6c, 0x80, 5, 11][rand(8)];
        else if (op === 2) b = b.subarray(0, rand(b.length + 1));
        else if (op === 3) { const at = rand(b.length + 1); b = new Uint8Array([...b.subarray(0, at), rand(256), ...b.subarray(at)]); }
        else if (op === 4 && b.length > 8) { const at = rand(b.length - 8); new DataView(b.buffer, b.byteOffset).setBigUint64(at, BigInt(rand(1 << 30)) * BigInt(rand(3) ? 1 : 0x100000000), rand(2) === 0); }
        else if (op === 5 && b.length >= 19) new DataView(b.buffer, b.byteOffset).setBigUint64(11, BigInt(b.length - 19), true);
      }
      if (rand(2) && b.length >= 19) new DataView(b.buffer, b.byteOffset).setBigUint64(11, BigInt(b.length - 19), (b[2] & 0x80) === 0);
      try {
        const c = native.nvUnpack(b, { swapForeignNitems: rand(2) === 0 });
        counts.accepted++;
        // What was accepted packs again and round-trips. (Packing may refuse what the content
        // notation cannot carry: non-UTF-8 names that collide, flags of array elements.)
        let again: Uint8Array | undefined;
        try {
          again = native.nvPack(c);
        } catch (e) {
          if (!(e instanceof StatekillError) || e.errno !== EINVAL) throw e;
        }
        if (again) expect(native.nvUnpack(again, { flags: c.flags ?? 0 })).toEqual(c);
      } catch (e) {
        if (!(e instanceof StatekillError) || !allowed.has(e.errno ?? -1)) throw e;
        counts.rejected++;
      }
      native.nvKillRequestFromContent(b);
    }
    expect(counts.accepted).toBeGreaterThan(500);
    expect(counts.rejected).toBeGreaterThan(5000);
  });
});
