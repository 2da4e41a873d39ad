/**
 * Cases for test/conntrack-property.test.ts: random conntrack tables, random selections as library
 * values and as CLI strings, each tagged with the outcome the contract gives it, and the independent
 * model of what a valid selection kills. Written from the README ("Selectors": a repeated selector
 * ORs its values, except --mark, --zone and --reply-dst, which take one value; an empty value is
 * refused) and Selection's docs in src/engine/types.ts; never from the engine: no select, no validate.
 */
import { BlockList } from 'node:net';
import type { Cidr, Selection } from '../src/engine/types.js';
import { tupleKey, type EntrySpec } from './conntrack-fill.js';

/** mulberry32: small, seedable, good enough to spread cases. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] };
}
export type Rng = ReturnType<typeof prng>;

// ---- tables ----

const POOL = {
  4: { src: ['10.0.0.1', '10.0.0.2', '10.0.1.7', '172.16.0.1'], dst: ['192.0.2.1', '192.0.2.200', '198.51.100.9', '0.0.0.1'], wan: ['100.64.1.2', '100.64.2.2', '255.255.255.254'] },
  6: { src: ['fd00::1', 'fd00::2', 'fd00:1::7'], dst: ['2001:db8::1', '2001:db8::ff', '2001:db8:1::1', '::2'], wan: ['2001:db8:100::2', '2001:db8:200::2', 'ffff::1'] },
} as const;
const MARKS = [0, 0x100, 0x101, 0x1ff, 0x200, 0x2ff, 0x80000000, 0xffffffff];
const ZONES = [0, 0, 0, 1, 65535];
const PROTOS = [6, 6, 17, 17, 47];
const PORTS = [0, 1, 53, 443, 65535];

export function randomTable(r: Rng): EntrySpec[] {
  const out: EntrySpec[] = [];
  const keys = new Set<string>();
  let nat = 2000;
  const n = 40 + r.int(60);
  while (out.length < n) {
    const af = r.next() < 0.65 ? 4 : 6;
    const p = POOL[af];
    const e: EntrySpec = {
      af, proto: r.pick(PROTOS), src: r.pick(p.src), dst: r.pick(p.dst),
      srcPort: r.next() < 0.3 ? r.pick(PORTS) : 1024 + r.int(60000), dstPort: r.pick(PORTS),
      mark: r.pick(MARKS), zone: r.pick(ZONES),
    };
    if (r.next() < 0.5) {
      e.replyDst = r.pick(p.wan);
      e.replyDstPort = nat++;
    }
    const k = tupleKey({ zone: e.zone!, ...e });
    if (keys.has(k)) continue;
    keys.add(k);
    out.push(e);
  }
  return out;
}

// ---- the independent model ----

/** A selector's values: one, or a list whose members OR. */
const vals = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function inCidr(addr: string, af: 4 | 6, c: Cidr): boolean {
  if ((c.af === 'inet' ? 4 : 6) !== af) return false;
  const b = new BlockList();
  b.addSubnet(c.addr, c.prefix, c.af === 'inet' ? 'ipv4' : 'ipv6');
  return b.check(addr, af === 4 ? 'ipv4' : 'ipv6');
}

function modelMatches(e: EntrySpec, s: Selection): boolean {
  if (s.af !== undefined && !vals(s.af).some((a) => (a === 'inet' ? 4 : 6) === e.af)) return false;
  if (s.proto !== undefined && !vals(s.proto).includes(e.proto)) return false;
  if (s.mark && (((e.mark ?? 0) & s.mark.mask) >>> 0) !== s.mark.value) return false;
  if (s.zone !== undefined && s.zone !== (e.zone ?? 0)) return false;
  if (s.srcPort !== undefined && !vals(s.srcPort).includes(e.srcPort)) return false;
  if (s.dstPort !== undefined && !vals(s.dstPort).includes(e.dstPort)) return false;
  if (s.src !== undefined && !vals(s.src).some((c) => inCidr(e.src, e.af, c))) return false;
  if (s.dst !== undefined && !vals(s.dst).some((c) => inCidr(e.dst, e.af, c))) return false;
  // An entry without NAT replies to its own source.
  if (s.replyDst && !inCidr(e.replyDst ?? e.src, e.af, s.replyDst)) return false;
  return true;
}
export const modelKills = (t: EntrySpec[], sels: Selection[]) => t.filter((e) => sels.some((s) => modelMatches(e, s)));

// ---- what a case must do ----

/** 'valid': must run and be exact. 'invalid': must be refused. 'either': refused, or exact. */
export type Expect = 'valid' | 'invalid' | 'either';
/** `cli`: the same case as `statekill kill` arguments, where the CLI can say exactly it (else null). */
export interface Case { sels: Selection[]; expect: Expect; why: string; cli: string[] | null }

export function combine(a: Expect, b: Expect): Expect {
  if (a === 'invalid' || b === 'invalid') return 'invalid';
  return a === 'either' || b === 'either' ? 'either' : 'valid';
}

// ---- one criterion: a library value, its class, and its CLI form ----

type Key = keyof Selection | 'replydst';
interface Crit { key: Key; value: unknown; expect: Expect; why: string; cli: string[] | null }

const FLAG: Partial<Record<Key, string>> = {
  mark: '--mark', zone: '--zone', replyDst: '--reply-dst', src: '--src', dst: '--dst', srcPort: '--src-port', dstPort: '--dst-port',
  proto: '--proto', af: '--af', gateways: '--gateway', natAddrs: '--nat-addr', interfaces: '--interface', rules: '--rule',
};
/** Selectors whose list values OR (README); the others take one value and refuse a second. */
const REPEATABLE = new Set<Key>(['af', 'proto', 'src', 'dst', 'srcPort', 'dstPort', 'gateways', 'natAddrs', 'interfaces', 'rules']);

function text(key: Key, v: unknown): string {
  if (key === 'mark') {
    const m = v as { value: number; mask: number };
    const n = (x: number) => (Number.isInteger(x) && x >= 0 ? `0x${x.toString(16)}` : String(x));
    return `${n(m.value)}/${n(m.mask)}`;
  }
  if (typeof v === 'object' && v !== null) return `${(v as Cidr).addr}/${(v as Cidr).prefix}`;
  return String(v);
}

/** The CLI says a value the same way as the library: one flag per list member. */
function crit(key: Key, value: unknown, expect: Expect, why: string, libraryOnly = false): Crit {
  const cli = libraryOnly || !FLAG[key] ? null : vals(value).flatMap((v) => [FLAG[key]!, text(key, v)]);
  return { key, value, expect, why: `${why} ${JSON.stringify(value)}`, cli };
}

const cidr = (addr: string, prefix: number): Cidr => ({ af: addr.includes(':') ? 'inet6' : 'inet', addr, prefix });
const host = (a: string) => cidr(a, a.includes(':') ? 128 : 32);

/** Generators per selector, around entry `e` of the table (so that some values match). */
const GEN: Record<string, (r: Rng, e: EntrySpec) => Crit> = {
  mark(r, e) {
    const x = r.next();
    if (x < 0.15) {
      // The contract (README, types.ts): value has no bits outside mask, mask is not 0, both u32.
      const bad = r.pick([{ value: 0x1ff, mask: 0xff00 }, { value: 0x101, mask: 0x100 }, { value: 0xffffffff, mask: 0x7fffffff }, { value: 0x100, mask: 0 },
        { value: 0, mask: 0 }, { value: 1, mask: 2 ** 32 }, { value: 2 ** 32, mask: 0xffffffff }, { value: -1, mask: 0xff }]);
      return crit('mark', bad, 'invalid', 'mark');
    }
    if (x < 0.22) {
      const bad = r.pick<unknown>([{ value: 0x100 }, { value: '0x100', mask: 0xff00 }, [{ value: 0x100, mask: 0xff00 }], { value: 0x100, mask: 0xff00, extra: 1 }, null, 0x100]);
      return crit('mark', bad, 'invalid', 'mark', true);
    }
    const m = r.pick([{ value: 0x100, mask: 0xff00 }, { value: 0x200, mask: 0xff00 }, { value: 0, mask: 0xffffffff }, { value: 0xffffffff, mask: 0xffffffff },
      { value: 0x80000000, mask: 0x80000000 }, { value: 0x80000000, mask: 0xffffffff }, { value: ((e.mark ?? 0) & 0xff00) >>> 0, mask: 0xff00 },
      { value: (e.mark ?? 0) >>> 0, mask: 0xffffffff }, { value: 0, mask: 1 }]);
    return crit('mark', m, 'valid', 'mark');
  },
  zone(r, e) {
    const x = r.next();
    if (x < 0.15) return crit('zone', r.pick([65536, -1, 1.5]), 'invalid', 'zone');
    if (x < 0.22) return crit('zone', r.pick<unknown>(['1', [1], [0, 0], NaN, null]), 'invalid', 'zone', true);
    return crit('zone', r.pick([0, 1, 65535, e.zone ?? 0]), 'valid', 'zone');
  },
  replyDst(r, e) {
    const x = r.next();
    const v6 = e.af === 6;
    if (x < 0.1) return crit('replyDst', cidr(v6 ? 'fd00::' : '10.0.0.0', v6 ? 129 : 33), 'invalid', 'replyDst prefix too long');
    if (x < 0.2) {
      const bad = r.pick<unknown>([[host(e.replyDst ?? e.src)], { af: v6 ? 'inet' : 'inet6', addr: e.replyDst ?? e.src, prefix: 32 },
        { af: v6 ? 'inet6' : 'inet', addr: '', prefix: v6 ? 128 : 32 }, { ...host(e.replyDst ?? e.src), ifname: 'eth0' }, { af: 'ipv4', addr: '10.0.0.1', prefix: 32 }]);
      return crit('replyDst', bad, 'invalid', 'replyDst', true);
    }
    const c = r.pick([host(e.replyDst ?? e.src), cidr(v6 ? '2001:db8::' : '100.64.0.0', v6 ? 32 : 16), cidr(v6 ? '::' : '0.0.0.0', 0),
      host(v6 ? 'ffff::1' : '255.255.255.254'), host(v6 ? '::' : '0.0.0.0'), host(v6 ? '::ffff:100.64.1.2' : '100.64.1.2')]);
    // /0 is refused without force: either outcome is within the contract, never a wider kill.
    return crit('replyDst', c, c.prefix === 0 ? 'either' : 'valid', 'replyDst');
  },
  addr(r, e) {
    const key = r.next() < 0.5 ? 'src' : 'dst';
    const a = key === 'src' ? e.src : e.dst;
    const v6 = e.af === 6;
    const x = r.next();
    // A prefix with host bits set: refused, or the network (never wider).
    if (x < 0.1) return crit(key, cidr(a, v6 ? 64 : 24), 'either', `${key} with host bits`);
    if (x < 0.15) return crit(key, [host(a), cidr(v6 ? 'fd00::' : '10.0.0.0', v6 ? 129 : 33)], 'invalid', `${key} list with a bad member`);
    if (x < 0.2) return crit(key, r.pick<unknown>([[], '10.0.0.1', [null]]), 'invalid', key, true);
    const one = () => r.pick([host(a), cidr(v6 ? 'fd00::' : '10.0.0.0', v6 ? 16 : 8), cidr(v6 ? '2001:db8::' : '192.0.2.0', v6 ? 32 : 24), host(v6 ? '::ffff:10.0.0.1' : '10.0.0.1')]);
    const v = r.pick([() => one(), () => [host(a), host(a)], () => [one(), one()], () => [one()]])();
    return crit(key, v, 'valid', key);
  },
  port(r, e) {
    const key = r.next() < 0.5 ? 'srcPort' : 'dstPort';
    const own = key === 'srcPort' ? e.srcPort : e.dstPort;
    const x = r.next();
    if (x < 0.15) return crit(key, r.pick<unknown>([65536, -1, 80.5, [80, 65536]]), 'invalid', key);
    if (x < 0.2) return crit(key, r.pick<unknown>([[], '80', [own, '80']]), 'invalid', key, true);
    return crit(key, r.pick<unknown>([...PORTS, own, [own, own], [0, 65535], [own], [own, r.pick(PORTS)]]), 'valid', key);
  },
  proto(r, e) {
    const x = r.next();
    if (x < 0.12) return crit('proto', r.pick<unknown>([256, -1, [6, 256]]), 'invalid', 'proto');
    if (x < 0.18) return crit('proto', r.pick<unknown>([[], '6', 'tcp']), 'invalid', 'proto', true);
    return crit('proto', r.pick<unknown>([6, 17, 47, 0, 255, [6, 6], [6, 17], [e.proto], [17, 47, 6]]), 'valid', 'proto');
  },
  af(r) {
    const x = r.next();
    // An unknown family is refused, never "every family" ('ipv4' once selected every inet6 entry).
    if (x < 0.2) return crit('af', r.pick<unknown>(['ipv4', '', 'INET', 'inet4', ['inet', 'ipv6']]), 'invalid', 'af');
    if (x < 0.27) return crit('af', r.pick<unknown>([4, [], null]), 'invalid', 'af', true);
    return crit('af', r.pick<unknown>(['inet', 'inet6', ['inet', 'inet'], ['inet6', 'inet6'], ['inet', 'inet6'], ['inet6']]), 'valid', 'af');
  },
  other(r) {
    // pf-only criteria mean nothing on conntrack: ignoring them would widen the kill. A misspelt
    // selector ('replydst') would do the same.
    return r.pick([() => crit('gateways', [cidr('100.64.1.1', 32)], 'invalid', 'pf-only'), () => crit('natAddrs', [cidr('100.64.1.2', 32)], 'invalid', 'pf-only'),
      () => crit('interfaces', ['wan1'], 'invalid', 'pf-only'), () => crit('rules', [10], 'invalid', 'pf-only'),
      () => crit('replydst', host('100.64.1.2'), 'invalid', 'unknown selector', true)])();
  },
};
const KINDS = ['mark', 'zone', 'replyDst', 'addr', 'addr', 'port', 'proto', 'af', 'other'];

function put(s: Selection, c: Crit): void {
  (s as Record<string, unknown>)[c.key] = c.value;
}

export function randomCase(r: Rng, t: EntrySpec[]): Case {
  const roll = r.next();
  if (roll < 0.04) return { sels: [{}], expect: 'invalid', why: 'empty selection', cli: [] };
  if (roll < 0.06) return { sels: [], expect: 'invalid', why: 'no selection', cli: null };
  if (roll < 0.08) return { sels: [{ name: 'WAN1' }], expect: 'invalid', why: 'a name and no selector', cli: null };
  const nsel = r.next() < 0.75 ? 1 : 2;
  const sels: Selection[] = [];
  let expect: Expect = 'valid';
  let cli: string[] | null = nsel === 1 ? [] : null;
  const why: string[] = [];
  for (let i = 0; i < nsel; i++) {
    const s: Selection = {};
    for (let k = 1 + r.int(3); k > 0; k--) {
      const c = GEN[r.pick(KINDS)](r, r.pick(t));
      if (c.key in s) continue; // a key's second value is a CLI matter (cliCase)
      put(s, c);
      expect = combine(expect, c.expect);
      why.push(c.why);
      cli = cli && c.cli ? [...cli, ...c.cli] : null;
    }
    sels.push(s);
  }
  // Repeated: the same selection twice selects what it selects once.
  if (r.next() < 0.1) sels.push({ ...sels[0] });
  // Boundary on the number of selections: 32 run; more may be refused (E_BAD_INPUT), never cut short.
  if (r.next() < 0.03) {
    const n = r.next() < 0.5 ? 32 : 33;
    while (sels.length < n) sels.push({ ...sels[sels.length % nsel] });
    if (n === 33) expect = combine(expect, 'either');
    why.push(`${n} selections`);
  }
  return { sels, expect, why: why.join(', '), cli: sels.length === 1 ? cli : null };
}

// ---- CLI-only values: strings the library never sees as such ----

interface Frag { args: string[]; key: Key; values: unknown[]; expect: Expect; why: string }
const frag = (key: Key, args: string[], values: unknown[], expect: Expect): Frag => ({ key, args, values, expect, why: `CLI ${args.join(' ') || '(none)'}` });
const bad = (key: Key, ...args: string[]): Frag => frag(key, args, [], 'invalid');

/** Empty strings, names, hex, defaults and repeats, around entry `e`. */
export function cliFragment(r: Rng, e: EntrySpec, keys?: Key[]): Frag {
  const wan = e.replyDst ?? e.src;
  const all: (() => Frag)[] = [
    // An empty value is a value, refused; never "not given" (README).
    ...(['mark', 'zone', 'replyDst', 'af', 'proto', 'src', 'dst', 'srcPort', 'dstPort'] as Key[]).map((k) => () => bad(k, FLAG[k]!, '')),
    () => bad('mark', '--mark', r.pick(['/0xff00', '0x100/', '0x100/0xff00/0xff', '0x1ff/0xff00', '0x100/0', '4294967296', '-1', 'mark'])),
    () => frag('mark', ['--mark', '0'], [{ value: 0, mask: 0xffffffff }], 'valid'), // no mask: all 32 bits
    () => frag('mark', ['--mark', '0xffffffff'], [{ value: 0xffffffff, mask: 0xffffffff }], 'valid'),
    () => frag('mark', ['--mark', '256/65280'], [{ value: 0x100, mask: 0xff00 }], 'valid'),
    () => frag('mark', ['--mark', String(e.mark ?? 0)], [{ value: e.mark ?? 0, mask: 0xffffffff }], 'valid'),
    () => bad('mark', '--mark', '0x100/0xff00', '--mark', '0x100/0xff00'), // one value, even the same twice
    () => bad('zone', '--zone', r.pick(['65536', '-1', '0x10000', '1.0', ' 1'])),
    () => frag('zone', ['--zone', '0x1'], [1], 'valid'),
    () => frag('zone', ['--zone', '65535'], [65535], 'valid'),
    () => bad('zone', '--zone', '0', '--zone', '0'),
    () => bad('replyDst', '--reply-dst', r.pick(['fd00::1%eth0', '100.64.1.2/', '100.64.1.2/33', 'ffff::1/129', 'wan'])),
    () => frag('replyDst', ['--reply-dst', wan], [host(wan)], 'valid'), // a bare address is a host prefix
    () => bad('replyDst', '--reply-dst', wan, '--reply-dst', wan),
    () => bad('af', '--af', r.pick(['ipv4', 'ipv6', 'INET', '4', 'inet ', 'all'])),
    () => frag('af', ['--af', 'inet', '--af', 'inet'], ['inet', 'inet'], 'valid'),
    () => frag('af', ['--af', 'inet6', '--af', 'inet6'], ['inet6', 'inet6'], 'valid'),
    () => frag('af', ['--af', 'inet', '--af', 'inet6'], ['inet', 'inet6'], 'valid'),
    () => bad('af', '--af', 'inet', '--af', ''),
    () => frag('proto', ['--proto', 'tcp'], [6], 'valid'),
    () => frag('proto', ['--proto', 'UDP'], [17], 'valid'),
    () => frag('proto', ['--proto', 'gre'], [47], 'valid'),
    () => frag('proto', ['--proto', 'tcp', '--proto', 'udp'], [6, 17], 'valid'),
    () => frag('proto', ['--proto', 'tcp', '--proto', '6'], [6, 6], 'valid'),
    () => bad('proto', '--proto', r.pick(['constructor', '__proto__', '0x6', '256', 'tcp/udp'])),
    () => bad('proto', '--proto', 'tcp', '--proto', ''),
    () => frag('src', ['--src', e.src, '--src', e.src], [host(e.src), host(e.src)], 'valid'),
    () => frag('src', ['--src', '::ffff:10.0.0.1'], [host('::ffff:10.0.0.1')], 'valid'), // IPv6: no IPv4 entry is in it
    () => bad('src', '--src', r.pick(['fd00::1%eth0', '10.0.0.1/', '010.0.0.1', '10.0.0.256'])),
    () => bad('dst', '--dst', e.dst, '--dst', ''),
    () => frag('srcPort', ['--src-port', String(e.srcPort), '--src-port', String(e.srcPort)], [e.srcPort, e.srcPort], 'valid'),
    () => frag('dstPort', ['--dst-port', '0x1bb'], [443], 'valid'),
    () => frag('dstPort', ['--dst-port', '65535', '--dst-port', '0'], [65535, 0], 'valid'),
    () => bad('dstPort', '--dst-port', r.pick(['65536', '-1', '1e3', '80.0', '0x10000'])),
  ];
  for (;;) {
    const f = r.pick(all)();
    if (!keys || keys.includes(f.key)) return f;
  }
}

/** Adds a CLI fragment's flags to a selection, as the CLI reads them: repeated flags OR, or are refused. */
function merge(c: Case, f: Frag): Case {
  const s: Selection = { ...c.sels[0] };
  const had = (s as Record<string, unknown>)[f.key];
  let expect = combine(c.expect, f.expect);
  if (had !== undefined && !REPEATABLE.has(f.key)) expect = 'invalid';
  const values = had === undefined ? f.values : [...vals(had), ...f.values];
  if (expect !== 'invalid') (s as Record<string, unknown>)[f.key] = values.length === 1 ? values[0] : values;
  return { sels: [s], expect, why: c.why ? `${c.why}, ${f.why}` : f.why, cli: [...c.cli!, ...f.args] };
}

/** One selection the CLI can say: a library case in flags, often with a CLI-only value added. */
export function cliCase(r: Rng, t: EntrySpec[]): Case & { cli: string[] } {
  for (;;) {
    const c = randomCase(r, t);
    if (c.cli === null || c.sels.length !== 1) continue;
    if (r.next() >= 0.6) return c as Case & { cli: string[] };
    // The empty selection is refused for being empty: with the fragment's flag it is empty no more.
    const base = Object.keys(c.sels[0]).length ? c : { ...c, expect: 'valid' as const, why: '' };
    return merge(base, cliFragment(r, r.pick(t))) as Case & { cli: string[] };
  }
}

/** `kill --kernel-filter`: one of --mark / --reply-dst (IPv6 half the time), maybe --zone and --af. */
export function kernelFilterCase(r: Rng, t: EntrySpec[]): Case & { cli: string[] } {
  const v6 = t.filter((e) => e.af === 6);
  const main = r.next() < 0.5 ? 'mark' : 'replyDst';
  const e = main === 'replyDst' && v6.length && r.next() < 0.5 ? r.pick(v6) : r.pick(t);
  let c: Case;
  if (r.next() < 0.2) {
    c = merge({ sels: [{}], expect: 'valid', why: '', cli: [] }, cliFragment(r, e, [main]));
  } else {
    let m: Crit;
    do m = GEN[main](r, e); while (m.cli === null);
    c = { sels: [{ [main]: m.value }], expect: m.expect, why: m.why, cli: m.cli };
  }
  for (const [key, p] of [['zone', 0.3], ['af', 0.4]] as const) {
    if (r.next() >= p) continue;
    if (r.next() < 0.3) {
      c = merge(c, cliFragment(r, e, [key]));
    } else {
      let k: Crit;
      do k = GEN[key](r, e); while (k.cli === null);
      c = merge(c, { key, args: k.cli!, values: vals(k.value), expect: k.expect, why: k.why });
    }
  }
  return { ...c, why: `kernel filter: ${c.why}` } as Case & { cli: string[] };
}
