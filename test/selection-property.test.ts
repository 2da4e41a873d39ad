/**
 * Property test (issue 10, the pf half): for random tables (the simulator's generator, and random
 * records with link-local gateways, dual stack, floating states, port-forwards, NAT, ambiguous
 * duplicates and pfsync creators) and random selections (empty, repeated and boundary values: 0,
 * 65535, 65536, -1, 2^32, '', /0, /33, /129, host bits, scoped and unscoped fe80), the library and
 * the CLI either refuse with E_BAD_INPUT (exit 2, nothing killed, table unchanged) or kill exactly
 * what the model below says, on every pf personality (12, 13, 14, 15, 15 + COMPAT_FREEBSD14) and
 * both transports. The model is written from the README (selectors, pairing) and pf-abi.md 4.1
 * (kill_match), not from the engine: its own address parsing, prefix checks and pairing.
 *
 * Seeded: STATEKILL_PROP_SEED=<n> reproduces a run; the seed is printed and named in failures.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSimKernel, openTable, parseJsonl, PfBackend, stateToJson } from '../src/index.js';
import type { PlanOptions } from '../src/index.js';

const SEED = Number(process.env.STATEKILL_PROP_SEED ?? Date.now() % 1_000_000);
console.log(`selection property test: seed ${SEED} (STATEKILL_PROP_SEED=${SEED} repeats this run)`);
const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/statekill.js');
const TMP = mkdtempSync(join(tmpdir(), 'sk-prop-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

// ---- a seeded PRNG ------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
type Rng = () => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const chance = (r: Rng, p: number) => r() < p;
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

// ---- addresses, the model's own ----------------------------------------------------------------

/** Text to 16 bytes (IPv4 in the first 4), or undefined. No scopes, no zone ids. */
function ipBytes(text: string): { v6: boolean; b: number[] } | undefined {
  const v4 = (s: string) => {
    const p = s.split('.');
    if (p.length !== 4 || !p.every((x) => /^(0|[1-9]\d{0,2})$/.test(x) && Number(x) < 256)) return undefined;
    return p.map(Number);
  };
  if (!text.includes(':')) {
    const b = v4(text);
    return b ? { v6: false, b: [...b, ...Array(12).fill(0)] } : undefined;
  }
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let groups: string[];
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const tailDotted = (g: string[]) => {
    const last = g[g.length - 1];
    if (last?.includes('.')) {
      const b = v4(last);
      if (!b) return undefined;
      return [...g.slice(0, -1), ((b[0] << 8) | b[1]).toString(16), ((b[2] << 8) | b[3]).toString(16)];
    }
    return g;
  };
  if (halves.length === 2) {
    const h = part(halves[0]), t = tailDotted(part(halves[1]));
    if (!t || h.length + t.length > 7) return undefined;
    groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  } else {
    const g = tailDotted(part(text));
    if (!g || g.length !== 8) return undefined;
    groups = g;
  }
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return { v6: true, b: groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]) };
}

function inPrefix(addr: number[], net: number[], prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    const m = 0x80 >> (bit % 8);
    if ((addr[bit >> 3] & m) !== (net[bit >> 3] & m)) return false;
  }
  return true;
}

const hostBitsSet = (net: number[], prefix: number, max: number) => {
  for (let bit = prefix; bit < max; bit++) if (net[bit >> 3] & (0x80 >> (bit % 8))) return true;
  return false;
};
const LL = ipBytes('fe80::')!.b;

// ---- the model's view of a state ---------------------------------------------------------------

interface MState {
  id: string; creatorid: string; ifname: string; orig: string; v6: boolean; proto: number; out: boolean;
  key: { a: number[][]; p: number[] }[]; rt?: number[]; rtIf: string; rule: number;
}
type Personality = { name: string; version: 12 | 13 | 14 | 15; compat14?: boolean; transport: 'ioctl' | 'netlink' };
/** What a personality's records can tell: 12 exports pfsync_state (no orig_ifname); 12 and 13 no rt_ifname. */
const view = (p: Personality) => ({ orig: p.version !== 12 || p.transport === 'netlink', rtIf: p.version >= 14 });

function toModel(o: Record<string, unknown>): MState {
  const keys = o.key as { addr: string[]; port: number[] }[];
  return {
    id: o.id as string, creatorid: o.creatorid as string, ifname: (o.ifname as string) ?? 'all',
    orig: (o.orig_ifname as string) ?? (o.ifname as string) ?? 'all', v6: o.af === 'inet6',
    proto: typeof o.proto === 'number' ? o.proto : ({ tcp: 6, udp: 17, icmp: 1, icmp6: 58, gre: 47, esp: 50 } as Record<string, number>)[o.proto as string],
    out: o.direction === 'out',
    key: keys.map((k) => ({ a: k.addr.map((x) => ipBytes(x)!.b), p: k.port })),
    rt: o.rt_addr ? ipBytes(o.rt_addr as string)!.b : undefined, rtIf: (o.rt_ifname as string) ?? '',
    rule: (o.rule as number) ?? -1,
  };
}

// ---- random tables ------------------------------------------------------------------------------

const WANS = [
  { ifname: 'igb0', nat4: '198.51.100.2', gw4: '198.51.100.1', nat6: '2001:db8:a::2' },
  { ifname: 'igb3', nat4: '203.0.113.2', gw4: '203.0.113.1', nat6: '2001:db8:b::2' },
];
const REMOTES4 = ['1.1.1.1', '8.8.8.8', '9.9.9.9', '93.184.216.34'];
const REMOTES6 = ['2606:4700::1111', '2001:4860:4860::8888'];

function randomTable(r: Rng, connections: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let next = 1;
  const id = () => (next++).toString(16).padStart(16, '0');
  const creator = () => (chance(r, 0.1) ? '12345678' : '0badc0de');
  const rule = () => (chance(r, 0.1) ? undefined : int(r, 10, 15));
  const add = (o: Record<string, unknown>) => { const ru = rule(); out.push(ru === undefined ? o : { ...o, rule: ru }); return o; };
  const k = (a0: string, a1: string, p0: number, p1: number) => ({ addr: [a0, a1], port: [p0, p1] });
  for (let c = 0; c < connections; c++) {
    const wan = pick(r, WANS);
    const proto = pick(r, ['tcp', 'udp', 'tcp', 'icmp']);
    const cport = int(r, 1024, 65535), dport = pick(r, [443, 53, 80, 0, 65535, 22]);
    const kind = int(r, 0, 7);
    if (kind <= 1) { // policy-routed NAT, IPv4: IN on the LAN with route-to + OUT on the WAN with NAT
      const client = `192.168.1.${int(r, 2, 250)}`, remote = pick(r, REMOTES4), nport = int(r, 1024, 65535);
      const cr = creator();
      add({ id: id(), creatorid: cr, ifname: 'igb1', af: 'inet', proto, direction: 'in', key: [k(client, remote, cport, dport), k(client, remote, cport, dport)],
        rt: 'route-to', rt_addr: chance(r, 0.1) ? '198.51.100.254' : wan.gw4, rt_ifname: wan.ifname });
      add({ id: id(), creatorid: cr, ifname: wan.ifname, af: 'inet', proto, direction: 'out', key: [k(remote, wan.nat4, dport, nport), k(remote, client, dport, cport)] });
      if (chance(r, 0.1)) // an ambiguous duplicate of the outbound state (same stack key)
        add({ id: id(), creatorid: cr, ifname: 'all', orig_ifname: wan.ifname, af: 'inet', proto, direction: 'out', key: [k(remote, wan.nat4, dport, nport + 1 > 65535 ? 1 : nport + 1), k(remote, client, dport, cport)] });
    } else if (kind === 2) { // IPv6 routed to the link-local gateway of a WAN, no NAT
      const client = `2001:db8:1::${int(r, 2, 0xfff).toString(16)}`, remote = pick(r, REMOTES6);
      add({ id: id(), creatorid: creator(), ifname: 'igb1', af: 'inet6', proto: proto === 'icmp' ? 'icmp6' : proto, direction: 'in',
        key: [k(client, remote, cport, dport), k(client, remote, cport, dport)], rt: 'route-to', rt_addr: 'fe80::1', rt_ifname: wan.ifname });
      add({ id: id(), creatorid: creator(), ifname: wan.ifname, af: 'inet6', proto: proto === 'icmp' ? 'icmp6' : proto, direction: 'out',
        key: [k(remote, client, dport, cport), k(remote, client, dport, cport)] });
    } else if (kind === 3) { // port-forward: IN on the WAN with reply-to, OUT on the LAN
      const inside = `192.168.1.${int(r, 2, 250)}`, remote = pick(r, REMOTES4), ext = pick(r, [443, 8443, 25]), inport = pick(r, [443, 80]);
      add({ id: id(), creatorid: creator(), ifname: wan.ifname, af: 'inet', proto: 'tcp', direction: 'in',
        key: [k(remote, wan.nat4, cport, ext), k(remote, inside, cport, inport)], rt: 'reply-to', rt_addr: wan.gw4, rt_ifname: wan.ifname });
      add({ id: id(), creatorid: creator(), ifname: 'igb1', af: 'inet', proto: 'tcp', direction: 'out', key: [k(inside, remote, inport, cport), k(inside, remote, inport, cport)] });
    } else if (kind === 4) { // firewall-originated, floating, route-to
      add({ id: id(), creatorid: creator(), ifname: 'all', orig_ifname: wan.ifname, af: 'inet', proto, direction: 'out',
        key: [k(pick(r, REMOTES4), wan.nat4, dport, cport), k(pick(r, REMOTES4), wan.nat4, dport, cport)], rt: 'route-to', rt_addr: wan.gw4, rt_ifname: wan.ifname });
    } else if (kind === 5) { // default-routed NAT (rt_addr 0)
      const client = `10.20.${int(r, 0, 3)}.${int(r, 2, 250)}`, remote = pick(r, REMOTES4), nport = int(r, 1024, 65535);
      add({ id: id(), creatorid: creator(), ifname: 'igb2', af: 'inet', proto, direction: 'in', key: [k(client, remote, cport, dport), k(client, remote, cport, dport)] });
      add({ id: id(), creatorid: creator(), ifname: wan.ifname, af: 'inet', proto, direction: 'out', key: [k(remote, wan.nat4, dport, nport), k(remote, client, dport, cport)] });
    } else if (kind === 6) { // to the firewall itself, v4 or v6
      const v6 = chance(r, 0.4);
      add({ id: id(), creatorid: creator(), ifname: 'igb1', af: v6 ? 'inet6' : 'inet', proto: 'tcp', direction: 'in',
        key: v6 ? [k('2001:db8:1::9', '2001:db8:1::1', cport, 443), k('2001:db8:1::9', '2001:db8:1::1', cport, 443)]
          : [k('192.168.1.9', '192.168.1.1', cport, 443), k('192.168.1.9', '192.168.1.1', cport, 443)] });
    } else { // a pfsync peer's state reusing an id the host also handed out
      const twin = out.length ? pick(r, out) : undefined;
      const copy: Record<string, unknown> | undefined = twin && { ...twin, creatorid: twin.creatorid === '0badc0de' ? '0000beef' : '0badc0de' };
      if (copy && !out.some((o) => o.id === copy.id && o.creatorid === copy.creatorid)) out.push(copy);
    }
  }
  return out;
}

/** The simulator's own generator, as JSON objects (the same records every personality loads). */
async function generatedTable(seed: number, states: number): Promise<Record<string, unknown>[]> {
  const b = PfBackend.onSim(createSimKernel({ generate: { states, seed } }));
  const s = await b.read();
  b.close();
  return Array.from({ length: s.count }, (_, i) => stateToJson(s.bytes, i, s.layout));
}

// ---- random selections with their expected meaning ------------------------------------------------

type Pred = (s: MState, v: ReturnType<typeof view>) => boolean;
interface Field {
  key: string;
  lib: unknown;
  /** CLI arguments for the same value, or undefined when the CLI cannot say it. */
  cli?: string[];
  ok: boolean;
  force?: boolean; // valid only with force
  scoped?: boolean; // needs rt_ifname
  ids?: { id: string; creator?: string }[];
  match: Pred;
}

interface Table { states: MState[]; json: Record<string, unknown>[]; index?: Map<string, number[]> }

function cidrField(r: Rng, t: Table, key: 'gateways' | 'natAddrs' | 'src' | 'dst', flag: string, gw: boolean, focus: boolean): Omit<Field, 'key'> & { one: boolean } {
  const end = (s: MState) => {
    const w = s.key[0];
    if (key === 'gateways') return s.rt;
    if (key === 'natAddrs') return s.out ? w.a[1] : undefined;
    if (key === 'src') return s.out ? w.a[1] : w.a[0];
    return s.out ? w.a[0] : w.a[1];
  };
  // Focused: the very end this selector looks at, of a state that has one (a real gateway, NAT address...).
  const withEnd = focus ? t.states.filter((x) => end(x) && !end(x)!.every((y) => y === 0)) : [];
  const st = withEnd.length ? pick(r, withEnd) : pick(r, t.states);
  const addrs = [
    ...st.key.flatMap((kk) => kk.a),
    ...(st.rt ? [st.rt] : []),
  ];
  const pool = ['198.51.100.1', '203.0.113.1', 'fe80::1', '198.51.100.2', '203.0.113.2', '198.51.100.2', '192.168.1.0', '2001:db8:1::', '0.0.0.0', '::'];
  let b: number[], isV6: boolean;
  if (withEnd.length) {
    b = end(st)!;
    isV6 = st.v6;
  } else if (chance(r, 0.6)) {
    b = pick(r, addrs);
    isV6 = st.v6;
  } else {
    const x = ipBytes(pick(r, pool))!;
    b = x.b;
    isV6 = x.v6;
  }
  const max = isV6 ? 128 : 32;
  // Mostly what a user means (a host, a network), sometimes a typo: host bits, /0, out of range.
  const form = focus ? pick(r, ['host', 'host', 'network']) : pick(r, ['host', 'host', 'host', 'host', 'network', 'network', 'hostbits', 'zero', 'range', 'short']);
  const prefix = form === 'host' ? max : form === 'zero' ? 0 : form === 'range' ? max + 1 : form === 'short' ? pick(r, [1, 9, 10]) : pick(r, isV6 ? [64, 48, 10] : [24, 16, 8]);
  if (form === 'network' || form === 'short') b = b.map((x, i) => { const bits = Math.max(0, Math.min(8, prefix - i * 8)); return x & ((0xff << (8 - bits)) & 0xff); });
  const text = isV6 ? formatV6(b) : b.slice(0, 4).join('.');
  const scope = gw && isV6 && (focus ? b.every((x, i) => x === LL[i] || i > 1) || chance(r, 0.5) : chance(r, 0.4))
    ? (focus && st.rtIf ? st.rtIf : pick(r, ['igb0', 'igb3', 'igb1'])) : undefined;
  const weird = !focus && chance(r, 0.06) ? pick(r, ['', `${text}%igb0`, '1.2.3.999', 'x'.repeat(70)]) : undefined;
  const addrText = weird ?? text;
  let ok = prefix >= 0 && prefix <= max && weird === undefined && !(scope && !gw);
  let force = false;
  if (ok && prefix === 0) force = true;
  if (ok && hostBitsSet(b, prefix, max)) force = true;
  if (ok && gw && isV6 && !scope && ((prefix >= 10 && inPrefix(b, LL, 10)) || (prefix > 0 && prefix < 10 && inPrefix(LL, b, prefix)))) force = true;
  const lib = { af: isV6 ? 'inet6' : 'inet', addr: addrText, prefix, ...(scope ? { ifname: scope } : {}) };
  // The CLI spells a scope ADDR%IF; a weird address is refused there too.
  const cliText = weird === '' ? '' : `${addrText}${scope ? `%${scope}` : ''}/${prefix}`;
  return {
    lib, cli: [flag, cliText], ok, force, scoped: !!scope, one: true,
    match: (s) => {
      if (s.v6 !== isV6) return false;
      const a = end(s);
      if (!a) return false;
      if (key === 'gateways' && a.every((x) => x === 0)) return false; // table-routed: on no gateway
      return inPrefix(a, b, prefix) && (!scope || s.rtIf === scope);
    },
  };
}

function formatV6(b: number[]): string {
  const g = Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16));
  return g.join(':');
}

/** A list field: 1-3 values OR'd, sometimes a bare value, rarely an empty list. */
function listField(r: Rng, key: string, flag: string, scalarOk: boolean, one: (r: Rng) => Omit<Field, 'key'>): Field {
  if (chance(r, 0.04)) return { key, lib: [], cli: [flag, ''], ok: false, match: () => false };
  const n = chance(r, 0.6) ? 1 : int(r, 2, 3);
  const items = Array.from({ length: n }, () => one(r));
  const bare = scalarOk && n === 1 && chance(r, 0.5);
  return {
    key,
    lib: bare ? items[0].lib : items.map((i) => i.lib),
    cli: items.every((i) => i.cli) ? items.flatMap((i) => i.cli!) : undefined,
    ok: items.every((i) => i.ok),
    force: items.some((i) => i.force),
    scoped: items.some((i) => i.scoped),
    ids: items.flatMap((i) => i.ids ?? []),
    match: (s, v) => items.some((i) => i.match(s, v)),
  };
}

const num = (r: Rng, pool: unknown[], lo: number, hi: number, flag: string, get: (s: MState) => number) => (): Omit<Field, 'key'> => {
  const v = pick(r, pool);
  const ok = typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
  const cli = typeof v === 'number' && Number.isFinite(v) ? [flag, String(v)] : typeof v === 'string' ? [flag, v] : undefined;
  return { lib: v, cli: typeof v === 'string' && v !== '' ? undefined : cli, ok, match: (s) => get(s) === v };
};

function randomField(r: Rng, t: Table, focus = false): Field {
  const s = () => pick(r, t.states);
  const which = focus ? pick(r, ['gateways', 'natAddrs', 'src', 'dst'])
    : pick(r, ['gateways', 'gateways', 'natAddrs', 'src', 'dst', 'interfaces', 'rtInterfaces', 'af', 'proto', 'srcPort', 'dstPort', 'rules', 'ids', 'bad']);
  switch (which) {
    case 'gateways': case 'natAddrs': {
      const flag = which === 'gateways' ? '--gateway' : '--nat-addr';
      return listField(r, which, flag, false, (rr) => cidrField(rr, t, which, flag, which === 'gateways', focus));
    }
    case 'src': case 'dst':
      return listField(r, which, `--${which}`, true, (rr) => cidrField(rr, t, which, `--${which}`, false, focus));
    case 'interfaces': case 'rtInterfaces': {
      const flag = which === 'interfaces' ? '--interface' : '--rt-interface';
      return listField(r, which, flag, false, (rr) => {
        const n = pick(rr, ['igb0', 'igb1', 'igb2', 'igb3', 'all', 'igb9', '', 'x'.repeat(16), s().ifname]);
        const ok = /^[A-Za-z0-9_.:-]{1,15}$/.test(n);
        return {
          lib: n, cli: [flag, n], ok, scoped: which === 'rtInterfaces',
          match: (st, v) => which === 'rtInterfaces' ? st.rtIf === n : (st.ifname === 'all' && v.orig ? st.orig : st.ifname) === n,
        };
      });
    }
    case 'af':
      return listField(r, 'af', '--af', true, (rr) => {
        const a = pick(rr, ['inet', 'inet6', 'inet', 'ipv4']);
        return { lib: a, cli: ['--af', a], ok: a === 'inet' || a === 'inet6', match: (st) => st.v6 === (a === 'inet6') };
      });
    case 'proto':
      return listField(r, 'proto', '--proto', true, num(r, [6, 17, 1, 58, 0, 255, 256, -1, 2 ** 32, NaN, 6.5], 0, 255, '--proto', (st) => st.proto));
    case 'srcPort': case 'dstPort': {
      const flag = which === 'srcPort' ? '--src-port' : '--dst-port';
      const port = (st: MState) => { const w = st.key[0]; return which === 'srcPort' ? (st.out ? w.p[1] : w.p[0]) : (st.out ? w.p[0] : w.p[1]); };
      return listField(r, which, flag, true, num(r, [0, 443, 53, 80, 65535, 65536, -1, port(s()), port(s()), 1.5, NaN], 0, 65535, flag, port));
    }
    case 'rules':
      return listField(r, 'rules', '--rule', false, num(r, [10, 11, 12, 13, 0, 4294967294, 4294967295, 2 ** 32, 2 ** 32 + 10, -1], 0, 4294967294, '--rule', (st) => st.rule));
    case 'ids':
      return listField(r, 'ids', '--id', false, (rr) => {
        const st = s();
        const form = pick(rr, ['id', 'id', 'id/creator', 'zero', 'zerocreator', 'big']);
        if (form === 'zero') return { lib: { id: 0n }, cli: ['--id', '0'], ok: false, match: () => false };
        if (form === 'zerocreator') return { lib: { id: 1n, creatorid: 0 }, cli: ['--id', '1/0'], ok: false, match: () => false };
        if (form === 'big') return { lib: { id: 2n ** 64n }, cli: ['--id', '10000000000000000'], ok: false, match: () => false };
        const withCreator = form === 'id/creator';
        return {
          lib: { id: BigInt(`0x${st.id}`), ...(withCreator ? { creatorid: parseInt(st.creatorid, 16) } : {}) },
          cli: ['--id', withCreator ? `${st.id}/${st.creatorid}` : st.id.replace(/^0+/, '')], ok: true,
          ids: [{ id: st.id, creator: withCreator ? st.creatorid : undefined }],
          match: (x) => x.id === st.id && (!withCreator || x.creatorid === st.creatorid),
        };
      });
    default: { // criteria pf cannot answer, typos, wrong types
      const v = pick(r, [{ mark: { value: 1, mask: 1 } }, { zone: 0 }, { gateway: [] }, { replyDst: { af: 'inet', addr: '1.1.1.1', prefix: 32 } }, { gateways: 'x' }]);
      const [k, val] = Object.entries(v)[0];
      return { key: k, lib: val, cli: k === 'zone' ? ['--zone', '0'] : k === 'mark' ? ['--mark', '1/1'] : undefined, ok: false, match: () => false };
    }
  }
}

interface Case {
  selections: Record<string, unknown>[];
  fields: Field[][];
  opts: PlanOptions;
  /** Valid apart from data-dependent refusals (scopes on records without rt_ifname, shared ids). */
  ok: boolean;
  cli?: string[];
}

function randomCase(r: Rng, t: Table, forCli: boolean): Case {
  const nsel = forCli ? 1 : chance(r, 0.03) ? 0 : pick(r, [1, 1, 1, 2, 3]);
  const fields: Field[][] = [];
  const selections: Record<string, unknown>[] = [];
  for (let i = 0; i < nsel; i++) {
    const fs: Field[] = [];
    const nf = chance(r, 0.04) ? 0 : pick(r, [1, 1, 1, 2, 2, 3]);
    // A third of the selections are focused: one address selector on a value the table holds.
    const focus = chance(r, 0.33);
    for (let j = 0; j < (focus ? 1 : nf); j++) {
      const f = focus ? randomField(r, t, true) : randomField(r, t);
      if (!fs.some((x) => x.key === f.key)) fs.push(f);
    }
    fields.push(fs);
    selections.push(Object.fromEntries(fs.map((f) => [f.key, f.lib])));
  }
  const opts: PlanOptions = {
    pair: !chance(r, 0.2), pairRule: chance(r, 0.3) ? 'kernel' : 'kernel+stack', killAmbiguous: chance(r, 0.2), force: chance(r, 0.3),
  };
  const ok = nsel > 0 && fields.every((fs) => fs.length > 0 && fs.every((f) => f.ok && (!f.force || opts.force)));
  let cli: string[] | undefined;
  if (forCli && fields[0].every((f) => f.cli)) {
    cli = fields[0].flatMap((f) => f.cli!);
    if (!opts.pair) cli.push('--no-pair');
    if (opts.pairRule === 'kernel') cli.push('--pair-rule', 'kernel');
    if (opts.killAmbiguous) cli.push('--kill-ambiguous');
    if (opts.force) cli.push('--force');
  }
  return { selections, fields, opts, ok, cli };
}

// ---- the model: selection, refusals that depend on the table, kill_match pairing -----------------

const keyStr = (s: MState, idx: number, swap: boolean) => {
  const k = s.key[idx];
  const a = swap ? [k.a[1], k.a[0]] : k.a, p = swap ? [k.p[1], k.p[0]] : k.p;
  return `${s.v6 ? 6 : 4}|${s.proto}|${a[0].join('.')}|${a[1].join('.')}|${p[0]}|${p[1]}`;
};

/** The ids of the states the model kills, or 'refused'. */
function model(t: Table, c: Case, p: Personality): Set<string> | 'refused' {
  if (!c.ok) return 'refused';
  const v = view(p);
  if (!v.rtIf && c.fields.some((fs) => fs.some((f) => f.scoped))) return 'refused'; // README: needs 14+ records
  const selected = new Set<number>();
  for (const fs of c.fields) {
    const hits = t.states.map((s, i) => [s, i] as const).filter(([s]) => fs.every((f) => f.match(s, v)));
    // An id given without a creator must not name states of two creators.
    const loose = new Set(fs.flatMap((f) => (f.ids ?? []).filter((x) => !x.creator).map((x) => x.id)));
    const creators = new Map<string, Set<string>>();
    for (const [s] of hits) if (loose.has(s.id)) creators.set(s.id, (creators.get(s.id) ?? new Set()).add(s.creatorid));
    if ([...creators.values()].some((x) => x.size > 1)) return 'refused';
    for (const [, i] of hits) selected.add(i);
  }
  const kill = new Set(selected);
  if (c.opts.pair !== false) {
    // pf-abi.md 4.1: an outbound state's stack key (an inbound one's wire key), swapped, looked up
    // among states of the other direction by their wire key (inbound) or stack key (outbound).
    if (!t.index) {
      const idx = new Map<string, number[]>();
      t.states.forEach((s, i) => {
        const k = `${s.out ? 'out' : 'in'}|${keyStr(s, s.out ? 1 : 0, false)}`;
        idx.set(k, [...(idx.get(k) ?? []), i]);
      });
      t.index = idx;
    }
    const index = t.index;
    const partners: number[] = [], ambiguous: number[] = [];
    for (const i of selected) {
      const s = t.states[i];
      const find = (idx: number) => index.get(`${s.out ? 'in' : 'out'}|${keyStr(s, idx, true)}`) ?? [];
      let cands = find(s.out ? 1 : 0);
      if (cands.length === 0 && c.opts.pairRule !== 'kernel') cands = find(s.out ? 0 : 1); // README: kernel+stack
      if (cands.length === 1) partners.push(cands[0]);
      else ambiguous.push(...cands);
    }
    for (const j of partners) kill.add(j);
    if (c.opts.killAmbiguous) for (const j of ambiguous) kill.add(j);
  }
  return new Set([...kill].map((i) => `${t.states[i].id}/${t.states[i].creatorid}`));
}

// ---- running it ------------------------------------------------------------------------------------

const PERSONALITIES: Personality[] = [
  { name: '12', version: 12, transport: 'ioctl' },
  { name: '13', version: 13, transport: 'ioctl' },
  { name: '14 ioctl', version: 14, transport: 'ioctl' },
  { name: '14 netlink', version: 14, transport: 'netlink' },
  { name: '15 netlink', version: 15, transport: 'netlink' },
  { name: '15+compat14 ioctl', version: 15, compat14: true, transport: 'ioctl' },
  { name: '15+compat14 netlink', version: 15, compat14: true, transport: 'netlink' },
];

/** Every state's "id/creatorid" as statekill prints them, read straight from the records (README: id = raw bytes, creatorid host order). */
function stateIds(snap: { bytes: Uint8Array; count: number; layout: string }): string[] {
  const [stride, idOff, crOff] = snap.layout === 'pf-1301' ? [242, 0, 228] : [384, 8, 256];
  const b = Buffer.from(snap.bytes.buffer, snap.bytes.byteOffset, snap.bytes.byteLength);
  return Array.from({ length: snap.count }, (_, i) =>
    `${b.toString('hex', i * stride + idOff, i * stride + idOff + 8)}/${b.readUInt32LE(i * stride + crOff).toString(16).padStart(8, '0')}`).sort();
}

const show = (c: Case) => JSON.stringify({ selections: c.selections, opts: c.opts }, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));

async function runLibrary(t: Table, records: Uint8Array, p: Personality, c: Case): Promise<Set<string> | 'refused'> {
  const table = await openTable({ sim: createSimKernel({ version: p.version, compat14: p.compat14, records: { bytes: records, stride: 384 } }), transport: p.transport });
  try {
    const before = stateIds(await table.snapshot());
    const expected = model(t, c, p);
    const where = `seed ${SEED}, personality ${p.name}, case ${show(c)}`;
    let report;
    try {
      report = (await table.kill(c.selections as never, c.opts)).report;
    } catch (e) {
      expect((e as { code?: string }).code, `${where}: ${(e as Error).message}`).toBe('E_BAD_INPUT');
      expect(expected, `${where}: refused (${(e as Error).message}) where the model kills`).toBe('refused');
      expect(stateIds(await table.snapshot()), where).toEqual(before);
      return expected;
    }
    expect(expected, `${where}: killed where the model refuses`).not.toBe('refused');
    const after = stateIds(await table.snapshot());
    const killed = before.filter((x) => !after.includes(x));
    expect(killed, where).toEqual([...(expected as Set<string>)].sort());
    expect({ killed: report.killed, failed: report.failed, alreadyGone: report.alreadyGone }, where)
      .toEqual({ killed: (expected as Set<string>).size, failed: 0, alreadyGone: 0 });
    return expected;
  } finally {
    await table.close();
  }
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 30_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

async function runCli(t: Table, file: string, p: Personality, c: Case, n: number): Promise<void> {
  const saved = join(TMP, `after-${n}.jsonl`);
  const args = ['kill', '--sim', file, '--sim-version', String(p.version), '--transport', p.transport, '--json', '--sim-save', saved, ...c.cli!];
  const r = await cli(args);
  const expected = model(t, c, p);
  const where = `seed ${SEED}, personality ${p.name}, statekill ${args.join(' ')}`;
  if (r.code === 2) {
    expect(r.stdout, where).toBe('');
    expect(expected, `${where}: refused (${r.stderr.trim()}) where the model kills`).toBe('refused');
    expect(existsSync(saved), where).toBe(false);
    return;
  }
  expect(r.code, `${where}: ${r.stderr}`).toBe(0);
  expect(expected, `${where}: killed where the model refuses`).not.toBe('refused');
  const states = JSON.parse(r.stdout).states as { id: string; creatorid: string; reason: string }[];
  const killed = states.filter((s) => s.reason !== 'ambiguous' || c.opts.killAmbiguous).map((s) => `${s.id}/${s.creatorid}`).sort();
  expect(killed, where).toEqual([...(expected as Set<string>)].sort());
  // The table the command left: every state but those.
  const left = readFileSync(saved, 'utf8').split('\n').filter(Boolean).map((l) => { const o = JSON.parse(l); return `${o.id}/${o.creatorid}`; }).sort();
  const all = t.states.map((s) => `${s.id}/${s.creatorid}`).sort();
  expect(left, where).toEqual(all.filter((x) => !(expected as Set<string>).has(x)));
}

async function tables(r: Rng): Promise<{ name: string; t: Table; records: Uint8Array; file: string }[]> {
  const out = [];
  const sources: [string, Record<string, unknown>[]][] = [
    ['generated', await generatedTable(int(r, 1, 1_000_000), 1500)],
    ['random', randomTable(r, int(r, 40, 160))],
  ];
  for (const [name, json] of sources) {
    const text = json.map((o) => JSON.stringify(o)).join('\n');
    const file = join(TMP, `${name}.jsonl`);
    writeFileSync(file, text);
    out.push({ name, t: { states: json.map(toModel), json }, records: parseJsonl(text).records, file });
  }
  return out;
}

describe(`selections against a model of pf's kill (seed ${SEED})`, () => {
  it('library: every personality and transport refuses or kills exactly the model\'s states', async () => {
    const r = mulberry32(SEED);
    let kills = 0, refusals = 0, states = 0;
    for (const { t, records } of await tables(r)) {
      for (let n = 0; n < 60; n++) {
        const c = randomCase(r, t, false);
        for (const p of PERSONALITIES) {
          const m = await runLibrary(t, records, p, c);
          if (m === 'refused') refusals++;
          else { kills++; states += m.size; }
        }
      }
    }
    // Guards the generator: both outcomes occur, and kills are not all empty.
    expect(kills).toBeGreaterThan(100);
    expect(refusals).toBeGreaterThan(100);
    expect(states).toBeGreaterThan(kills);
  }, 120_000);

  it('CLI: the same, through `statekill kill --sim`', async () => {
    const r = mulberry32(SEED ^ 0x5eed);
    const cliPersonalities = PERSONALITIES.filter((p) => !p.compat14);
    let n = 0;
    for (const { t, file } of await tables(r)) {
      const cases: Case[] = [];
      while (cases.length < 6) {
        const c = randomCase(r, t, true);
        if (c.cli) cases.push(c);
      }
      // Two at a time: each run is a process of its own.
      const runs = cases.flatMap((c, i) => [cliPersonalities[i % cliPersonalities.length], cliPersonalities[(i + 2) % cliPersonalities.length]].map((p) => [p, c] as const));
      for (let i = 0; i < runs.length; i += 2)
        await Promise.all(runs.slice(i, i + 2).map(([p, c]) => runCli(t, file, p, c, n++)));
    }
  }, 120_000);
});
