/**
 * Selections compiled for the native select kernels: addresses as 16-byte network-order arrays
 * with their masks, families as 4/6. Validation happens here, once, before any record is read.
 */
import { badInput } from '../errors.js';
import { parseAddr, prefixMask } from './addr.js';
import type { Cidr, Selection } from './types.js';

export interface CompiledCidr {
  af: 4 | 6;
  addr: Uint8Array; // 16 bytes, already masked
  mask: Uint8Array; // 16 bytes
  ifname?: string;
}

export interface CompiledSelection {
  gateways?: CompiledCidr[];
  natAddrs?: CompiledCidr[];
  defaultRouted?: true;
  interfaces?: string[];
  rtInterfaces?: string[];
  af?: 4 | 6;
  proto?: number;
  src?: CompiledCidr;
  dst?: CompiledCidr;
  srcPort?: number;
  dstPort?: number;
  rules?: number[];
  /** pf: main-ruleset rules the selection's labels resolved to (engine/labels.ts); [] = none. */
  labelRules?: number[];
  mark?: { value: number; mask: number };
  zone?: number;
  replyDst?: CompiledCidr;
}

export function compileCidr(c: Cidr, what: string): CompiledCidr {
  const a = parseAddr(c.addr);
  if (!a || a.af !== c.af) throw badInput(`${what}: '${c.addr}' is not an ${c.af} address`);
  const max = c.af === 'inet' ? 32 : 128;
  if (!Number.isInteger(c.prefix) || c.prefix < 0 || c.prefix > max)
    throw badInput(`${what}: prefix length ${c.prefix} out of range 0-${max}`);
  const mask = prefixMask(c.af, c.prefix);
  for (let i = 0; i < 16; i++) a.bytes[i] &= mask[i];
  const out: CompiledCidr = { af: c.af === 'inet' ? 4 : 6, addr: a.bytes, mask };
  if (c.ifname) out.ifname = c.ifname;
  return out;
}

function port(p: number | undefined, what: string): number | undefined {
  if (p === undefined) return undefined;
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw badInput(`${what}: port ${p} out of range 0-65535`);
  return p;
}

function ifnames(list: string[] | undefined, what: string): string[] | undefined {
  if (!list) return undefined;
  for (const n of list)
    if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(n)) throw badInput(`${what}: '${n}' is not an interface name (1-15 characters)`);
  return list;
}

/** True when the selection has no criterion at all: it would select every state. */
export function isEmptySelection(s: Selection): boolean {
  const keys: (keyof Selection)[] = ['gateways', 'natAddrs', 'defaultRouted', 'interfaces', 'rtInterfaces', 'af', 'proto', 'src', 'dst',
    'srcPort', 'dstPort', 'rules', 'labels', 'mark', 'zone', 'replyDst'];
  return keys.every((k) => s[k] === undefined || (Array.isArray(s[k]) && (s[k] as unknown[]).length === 0));
}

export function compileSelection(s: Selection, index: number): CompiledSelection {
  const label = s.name ?? `selection ${index + 1}`;
  if (isEmptySelection(s))
    throw badInput(`${label}: no selector given; refusing to select every state (pfctl -Fs or conntrack -F clears a whole table)`);
  const c: CompiledSelection = {};
  if (s.gateways?.length) c.gateways = s.gateways.map((g) => compileCidr(g, `${label} gateway`));
  if (s.natAddrs?.length) c.natAddrs = s.natAddrs.map((g) => compileCidr(g, `${label} nat address`));
  if (s.defaultRouted !== undefined) {
    if (s.defaultRouted !== true) throw badInput(`${label}: defaultRouted: expected true (or leave it out), got ${JSON.stringify(s.defaultRouted)}`);
    c.defaultRouted = true;
  }
  if (s.interfaces?.length) c.interfaces = ifnames(s.interfaces, `${label} interface`);
  if (s.rtInterfaces?.length) c.rtInterfaces = ifnames(s.rtInterfaces, `${label} route-to interface`);
  if (s.af) c.af = s.af === 'inet' ? 4 : 6;
  if (s.proto !== undefined) {
    if (!Number.isInteger(s.proto) || s.proto < 0 || s.proto > 255) throw badInput(`${label}: protocol ${s.proto} out of range 0-255`);
    c.proto = s.proto;
  }
  if (s.src) c.src = compileCidr(s.src, `${label} source`);
  if (s.dst) c.dst = compileCidr(s.dst, `${label} destination`);
  c.srcPort = port(s.srcPort, `${label} source`);
  c.dstPort = port(s.dstPort, `${label} destination`);
  if (c.srcPort === undefined) delete c.srcPort;
  if (c.dstPort === undefined) delete c.dstPort;
  if (s.rules?.length) c.rules = s.rules;
  if (s.mark) c.mark = { value: s.mark.value >>> 0, mask: s.mark.mask >>> 0 };
  if (s.zone !== undefined) c.zone = s.zone;
  if (s.replyDst) c.replyDst = compileCidr(s.replyDst, `${label} reply destination`);
  return c;
}
