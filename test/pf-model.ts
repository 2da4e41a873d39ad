/**
 * Test helpers: random pf tables with deliberate key collisions (duplicates, ambiguous partners,
 * port-forwards, NAT, floating states, both families), and an independent model of what a plan
 * contains: selection by gateway / NAT address / af / proto and pairing by pf's kill_match rule
 * (pf-abi.md 4.1), written plainly over decoded states with string keys, sharing no code with the
 * engine.
 */
import { parseJsonl } from '../src/table/jsonl.js';
import { parseAddr, prefixMask } from '../src/engine/addr.js';
import type { Cidr, Selection } from '../src/engine/types.js';
import type { DecodedState } from '../src/table/records.js';

/** splitmix-ish deterministic random numbers. */
export function rng(seed: number): () => number {
  let s = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  return () => {
    s = (s + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    return Number((z ^ (z >> 31n)) & 0xffffffffn) / 2 ** 32;
  };
}

export const GW1 = '198.51.100.1', GW1B = '198.51.100.254', GW2 = '203.0.113.1', NAT1 = '198.51.100.2', NAT2 = '203.0.113.2';
export const GW6 = 'fe80::1';

type Key = { addr: [string, string]; port: [number, number] };

/**
 * A random table as JSON Lines objects. Address and port pools are small so that keys collide:
 * partners are often not unique, and some states are exact duplicates of another's key.
 */
export function randomStates(seed: number, connections: number): Record<string, unknown>[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const out: Record<string, unknown>[] = [];
  let id = 1;
  const add = (o: Record<string, unknown>) => out.push({ id: (id++).toString(16).padStart(16, '0'), creatorid: '0badc0de', ...o });
  const clients4 = ['192.168.1.2', '192.168.1.3', '192.168.1.4'];
  const servers4 = ['1.1.1.1', '9.9.9.9'];
  const clients6 = ['2001:db8:1::2', '2001:db8:1::3'];
  const servers6 = ['2606:4700::1'];
  const ports = [1000, 1001, 1002, 443];
  for (let c = 0; c < connections; c++) {
    const v6 = r() < 0.15;
    const af = v6 ? 'inet6' : 'inet';
    const proto = pick(['tcp', 'udp']);
    const client = pick(v6 ? clients6 : clients4), server = pick(v6 ? servers6 : servers4);
    const cp = pick(ports), sp = pick([443, 53]);
    const wan = r() < 0.6 ? { ifname: 'igb0', gw: v6 ? GW6 : pick([GW1, GW1B]), nat: NAT1 } : { ifname: 'igb3', gw: v6 ? GW6 : GW2, nat: NAT2 };
    const kind = r();
    const k = (a0: string, p0: number, a1: string, p1: number): Key => ({ addr: [a0, a1], port: [p0, p1] });
    if (kind < 0.45) {
      // Routed: IN on the LAN (route-to or table-routed), OUT on the WAN (NAT for IPv4, sometimes not).
      const inKey = k(client, cp, server, sp);
      const rt = r() < 0.75 ? { rt: 'route-to', rt_addr: wan.gw, rt_ifname: wan.ifname } : {};
      add({ ifname: 'igb1', af, proto, direction: 'in', key: [inKey, inKey], ...rt });
      const stack = k(server, sp, client, cp);
      const nat = !v6 && r() < 0.7;
      const wire = nat ? k(server, sp, wan.nat, pick(ports)) : stack;
      add({ ifname: r() < 0.1 ? 'all' : wan.ifname, orig_ifname: wan.ifname, af, proto, direction: 'out', key: [wire, stack] });
    } else if (kind < 0.6) {
      // Port-forward: IN on the WAN to its address, rdr inside, reply-to the gateway; OUT on the LAN.
      const inside = v6 ? '2001:db8:1::10' : '192.168.1.10';
      const wanAddr = v6 ? '2001:db8:a::2' : wan.nat;
      add({ ifname: wan.ifname, af, proto, direction: 'in', key: [k(server, cp, wanAddr, 443), k(server, cp, inside, 8443)], rt: 'reply-to', rt_addr: wan.gw, rt_ifname: wan.ifname });
      const o = k(inside, 8443, server, cp);
      add({ ifname: 'igb1', af, proto, direction: 'out', key: [o, o] });
    } else if (kind < 0.75) {
      // Firewall-originated: one OUT state from the WAN address, sometimes route-to.
      const key = k(server, sp, v6 ? '2001:db8:a::2' : wan.nat, cp);
      const rt = r() < 0.5 ? { rt: 'route-to', rt_addr: wan.gw, rt_ifname: wan.ifname } : {};
      add({ ifname: wan.ifname, af, proto, direction: 'out', key: [key, key], ...rt });
    } else if (kind < 0.9 && out.length > 0) {
      // A duplicate of an earlier state's keys (another id, maybe the other direction or interface).
      const src = out[Math.floor(r() * out.length)];
      const copy = { ...src };
      delete copy.id;
      delete copy.creatorid;
      if (r() < 0.3) copy.direction = copy.direction === 'in' ? 'out' : 'in';
      if (r() < 0.3) {
        delete copy.rt;
        delete copy.rt_addr;
        delete copy.rt_ifname;
      }
      add(copy);
    } else {
      // To the firewall itself: one IN state on the LAN.
      const key = k(client, cp, v6 ? '2001:db8:1::1' : '192.168.1.1', 22);
      add({ ifname: 'igb1', af, proto, direction: 'in', key: [key, key] });
    }
  }
  return out;
}

export function recordsOf(states: Record<string, unknown>[]): { bytes: Uint8Array; stride: 384 } {
  const t = parseJsonl(states.map((s) => JSON.stringify(s)).join('\n'), 'random table');
  return { bytes: t.records, stride: 384 };
}

// ---- the model ------------------------------------------------------------------------------

function inCidr(c: Cidr, af: string, addr: string | undefined): boolean {
  if (!addr || c.af !== af) return false;
  const a = parseAddr(addr)!.bytes, g = parseAddr(c.addr)!.bytes, m = prefixMask(c.af, c.prefix);
  for (let i = 0; i < 16; i++) if ((a[i] & m[i]) !== (g[i] & m[i])) return false;
  return true;
}

/** Selections this model knows: gateways (unscoped), natAddrs, af, proto. */
export function modelSelects(s: DecodedState, sel: Selection): boolean {
  if (sel.af && s.af !== sel.af) return false;
  if (sel.proto !== undefined && s.proto !== sel.proto) return false;
  if (sel.gateways?.length && !sel.gateways.some((g) => inCidr(g, s.af, s.rt_addr))) return false;
  if (sel.natAddrs?.length && !(s.direction === 'out' && sel.natAddrs.some((n) => inCidr(n, s.af, s.key[0].addr[1])))) return false;
  return true;
}

const keyText = (s: DecodedState, k: Key, swap: boolean) =>
  swap ? `${s.af}/${s.proto}/${k.addr[1]}/${k.addr[0]}/${k.port[1]}/${k.port[0]}` : `${s.af}/${s.proto}/${k.addr[0]}/${k.addr[1]}/${k.port[0]}/${k.port[1]}`;

export interface ModelPlan {
  selected: Set<string>;
  paired: Set<string>;
  ambiguous: Set<string>;
}

/** What a plan must contain, by state id. */
export function modelPlan(states: DecodedState[], selections: Selection[], opts: { pair?: boolean; pairRule?: 'kernel' | 'kernel+stack' } = {}): ModelPlan {
  // pf_find_state_all: states of direction D by their lookup key (inbound: wire, outbound: stack).
  const lookup = new Map<string, DecodedState[]>();
  for (const s of states) {
    const k = `${s.direction}|${keyText(s, s.key[s.direction === 'in' ? 0 : 1], false)}`;
    (lookup.get(k) ?? lookup.set(k, []).get(k)!).push(s);
  }
  const want = (s: DecodedState, nat: boolean) => {
    const out = s.direction === 'out';
    const idx = out ? (nat ? 0 : 1) : nat ? 1 : 0;
    return lookup.get(`${out ? 'in' : 'out'}|${keyText(s, s.key[idx], true)}`) ?? [];
  };
  const selected = states.filter((s) => selections.some((sel) => modelSelects(s, sel)));
  const sIds = new Set(selected.map((s) => s.id));
  const paired = new Set<string>(), ambiguous = new Set<string>();
  if (opts.pair ?? true) {
    for (const s of selected) {
      let c = want(s, false);
      if (c.length === 0 && (opts.pairRule ?? 'kernel+stack') === 'kernel+stack') c = want(s, true);
      if (c.length === 1 && !sIds.has(c[0].id)) paired.add(c[0].id);
      if (c.length > 1) for (const x of c) ambiguous.add(x.id);
    }
    for (const x of [...ambiguous]) if (sIds.has(x) || paired.has(x)) ambiguous.delete(x);
  }
  return { selected: sIds, paired, ambiguous };
}
