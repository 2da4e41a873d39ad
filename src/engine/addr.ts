/** Address and prefix parsing into the 16-byte network-order form the kernels use. */
import { isIPv4, isIPv6 } from 'node:net';
import { badInput } from '../errors.js';
import { quote } from './show.js';
import type { Cidr } from './types.js';

export function parseIPv4(s: string, out = new Uint8Array(16)): Uint8Array {
  const parts = s.split('.').map((p) => Number(p));
  for (let i = 0; i < 4; i++) out[i] = parts[i];
  return out;
}

export function parseIPv6(s: string, out = new Uint8Array(16)): Uint8Array {
  // Expand "::" and an embedded dotted quad; isIPv6 has already validated the text.
  let text = s;
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const v4 = parseIPv4(dotted[1]);
    text = text.slice(0, -dotted[1].length) + `${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/**
 * Text address (no prefix, no scope) to {af, bytes}; undefined when it is not an address. node's
 * isIPv6 accepts a zone id ("fe80::1%igb0", even "fe80::1%1.2.3.4", which the dotted-quad expansion
 * below would turn into fe80::1:304): an address with a scope is not an address here.
 */
export function parseAddr(s: string): { af: 'inet' | 'inet6'; bytes: Uint8Array } | undefined {
  if (typeof s !== 'string' || s.length > 64 || s.includes('%')) return undefined;
  if (isIPv4(s)) return { af: 'inet', bytes: parseIPv4(s) };
  if (isIPv6(s)) return { af: 'inet6', bytes: parseIPv6(s) };
  return undefined;
}

export function formatAddr(af: 'inet' | 'inet6', b: Uint8Array, off = 0): string {
  if (af === 'inet') return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + i * 2] << 8) | b[off + i * 2 + 1]);
  // RFC 5952: compress the longest run (>= 2) of zero groups.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * "ADDR", "ADDR/LEN" or "ADDR%IF[/LEN]" (an IPv6 link-local gateway scoped to an interface).
 * A bare address is a host prefix. Throws E_BAD_INPUT naming `what` on anything else.
 */
export function parseCidr(text: string, what = 'address'): Cidr {
  const m = text.match(/^([^/%]+)(?:%([A-Za-z0-9_.-]{1,15}))?(?:\/(\d{1,3}))?$/);
  if (!m) throw badInput(`${what}: cannot parse ${quote(text)} (expected ADDR, ADDR/LEN or ADDR%IFNAME)`);
  const a = parseAddr(m[1]);
  if (!a) throw badInput(`${what}: ${quote(m[1])} is not an IPv4 or IPv6 address`);
  const max = a.af === 'inet' ? 32 : 128;
  const prefix = m[3] === undefined ? max : Number(m[3]);
  if (!(prefix >= 0 && prefix <= max)) throw badInput(`${what}: prefix length ${m[3]} out of range 0-${max} in ${quote(text)}`);
  if (m[2] && a.af !== 'inet6') throw badInput(`${what}: an interface scope (%${m[2]}) only applies to IPv6 in ${quote(text)}`);
  const c: Cidr = { af: a.af, addr: formatAddr(a.af, a.bytes), prefix };
  if (m[2]) c.ifname = m[2];
  return c;
}

export function prefixMask(af: 'inet' | 'inet6', prefix: number, out = new Uint8Array(16)): Uint8Array {
  const bits = Math.min(prefix, af === 'inet' ? 32 : 128);
  for (let i = 0; i < 16; i++) {
    const b = Math.max(0, Math.min(8, bits - i * 8));
    out[i] = b === 0 ? 0 : (0xff << (8 - b)) & 0xff;
  }
  return out;
}

export function cidrToString(c: Cidr): string {
  const full = c.af === 'inet' ? 32 : 128;
  return `${c.addr}${c.ifname ? `%${c.ifname}` : ''}${c.prefix === full ? '' : `/${c.prefix}`}`;
}
