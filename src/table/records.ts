/**
 * Field offsets of pf records in the kernel's own layouts (pf-abi.md 2.9 and 2.11) and a small
 * decoder. Hot paths (select, pair) read records in C++; this is for listing, JSON and tests.
 */
import { badInput } from '../errors.js';
import { formatAddr } from '../engine/addr.js';
import type { RecordLayout } from '../engine/types.js';

export const AF_INET = 2;
export const AF_INET6 = 28;
export const PF_IN = 1;
export const PF_OUT = 2;
export const PF_STATE_VERSION_13 = 20210706n;
export const PF_STATE_VERSION_14 = 20230404n;

export interface PfOffsets {
  stride: number;
  version: number; id: number; ifname: number; origIfname: number; key: number; rtAddr: number;
  rule: number; anchor: number; natRule: number; creation: number; expire: number;
  packets: number; bytes: number; creatorid: number; af: number; proto: number; direction: number;
  log: number; stateFlags: number; timeout: number; syncFlags: number; updates: number; rt: number; rtIfname: number;
}

export const EXPORT_OFFSETS: PfOffsets = {
  stride: 384, version: 0, id: 8, ifname: 16, origIfname: 32, key: 48, rtAddr: 184, rule: 200, anchor: 204,
  natRule: 208, creation: 212, expire: 216, packets: 224, bytes: 240, creatorid: 256, af: 264, proto: 265,
  direction: 266, log: 267, stateFlags: 268, timeout: 269, syncFlags: 270, updates: 271, rt: 294, rtIfname: 295,
};

export const S1301_OFFSETS: PfOffsets = {
  stride: 242, version: -1, id: 0, ifname: 8, origIfname: -1, key: 24, rtAddr: 160, rule: 176, anchor: 180,
  natRule: 184, creation: 188, expire: 192, packets: 196, bytes: 212, creatorid: 228, af: 232, proto: 233,
  direction: 234, log: 237, stateFlags: 238, timeout: 239, syncFlags: 240, updates: 241, rt: -1, rtIfname: -1,
};

export function offsetsFor(layout: RecordLayout): PfOffsets {
  if (layout === 'pf-export') return EXPORT_OFFSETS;
  if (layout === 'pf-1301') return S1301_OFFSETS;
  // Exported through decodeState/stateToJson: a conntrack ('ct') snapshot is the caller's input.
  throw badInput(`not a pf record layout: ${String(layout)} (expected 'pf-export' or 'pf-1301')`);
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 2: 'igmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 51: 'ah', 58: 'icmp6', 103: 'pim', 112: 'carp', 132: 'sctp' };
export const PROTO_NUMBERS: Record<string, number> = Object.fromEntries(Object.entries(PROTO_NAMES).map(([n, s]) => [s, Number(n)]));
PROTO_NUMBERS.ipv6icmp = 58;

export function protoName(p: number): string | number {
  return PROTO_NAMES[p] ?? p;
}

/** A protocol name or number (0-255); undefined when unknown. */
export function parseProto(p: string | number): number | undefined {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 0 && p <= 255 ? p : undefined;
  if (/^\d+$/.test(p)) return parseProto(Number(p));
  const name = p.toLowerCase();
  // Own keys only: 'constructor' is a key of every plain object, not a protocol.
  return Object.hasOwn(PROTO_NUMBERS, name) ? PROTO_NUMBERS[name] : undefined;
}

export const RT_NAMES: Record<number, string> = { 2: 'route-to', 3: 'dup-to', 4: 'reply-to' };

export function cString(b: Uint8Array, off: number, len = 16): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString('latin1');
}

function hex(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += b[off + i].toString(16).padStart(2, '0');
  return s;
}

/** A decoded view of one record, for display and JSON (not for hot loops). */
export interface DecodedKey {
  addr: [string, string];
  port: [number, number];
  af?: 'inet' | 'inet6';
  proto?: number;
}

export interface DecodedState {
  id: string; // 16 hex digits: the raw id bytes, i.e. the id read as a big-endian number
  creatorid: string; // 8 hex digits: the 32-bit value as the kernel stores it
  ifname: string;
  orig_ifname: string;
  af: 'inet' | 'inet6';
  proto: number;
  direction: 'in' | 'out';
  /** `af`/`proto` only where a key's differ from the state's (FreeBSD 15 af-to/NAT64: the stack key). */
  key: [DecodedKey, DecodedKey];
  rt: number;
  rt_addr: string | undefined;
  /** Only where the next hop's family differs from the state's (FreeBSD 15, RFC 8950). */
  rt_af?: 'inet' | 'inet6';
  rt_ifname: string;
  rule: number; anchor: number; nat_rule: number; creation: number; expire: number;
  packets: [bigint, bigint]; bytes: [bigint, bigint];
  timeout: number; state_flags: number; log: number;
}

/** statekill's private block in pf_state_export.spare (native/pf/record_codec.h kPrivOffset). */
export const PRIV = 376;
/** Its flags byte (at PRIV): each key's own family and proto at PRIV+2.. (af-to); the next hop's family at PRIV+1. */
export const PRIV_KEY_AF = 0x01, PRIV_RT_AF = 0x02;
/** 14.x export records carry the u16 state_flags at 272 (BE); older ones only its low byte. */
function stateFlags(dv: DataView, b: Uint8Array, o: PfOffsets, layout: RecordLayout): number {
  if (layout === 'pf-export' && dv.getBigUint64(o.version, true) === PF_STATE_VERSION_14) return dv.getUint16(STATE_FLAGS_U16, false);
  return b[o.stateFlags];
}

/** pf_state_export (14.x): `state_flags` u16, BE (pf-abi.md 2.11). */
export const STATE_FLAGS_U16 = 272;

export function decodeState(bytes: Uint8Array, index: number, layout: RecordLayout): DecodedState {
  const o = offsetsFor(layout);
  if (!Number.isInteger(index) || index < 0 || (index + 1) * o.stride > bytes.length)
    throw badInput(`record ${index} is not in a buffer of ${Math.floor(bytes.length / o.stride)} ${layout} records`);
  const base = index * o.stride;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + base, o.stride);
  const b = bytes.subarray(base, base + o.stride);
  const af = b[o.af] === AF_INET6 ? 'inet6' : 'inet';
  // FreeBSD 15 facts kept in the export record's private bytes (native/pf/record_codec.h): each
  // key's own family (af-to) and the next hop's (RFC 8950). Zero = the state's af.
  const priv = layout === 'pf-export' ? b[PRIV] : 0;
  const famOf = (v: number) => (v === AF_INET6 ? 'inet6' : v === AF_INET ? 'inet' : af);
  const keyAf = (k: number) => (priv & PRIV_KEY_AF ? famOf(b[PRIV + 2 + 2 * k]) : af);
  const rtAf = priv & PRIV_RT_AF ? famOf(b[PRIV + 1]) : af;
  const keyProto = (k: number) => (priv & PRIV_KEY_AF && b[PRIV + 2 + 2 * k] ? b[PRIV + 3 + 2 * k] : b[o.proto]);
  const key = [0, 1].map((k) => {
    const ko = o.key + k * 36;
    const d: DecodedKey = {
      addr: [formatAddr(keyAf(k), b, ko), formatAddr(keyAf(k), b, ko + 16)] as [string, string],
      port: [dv.getUint16(ko + 32, false), dv.getUint16(ko + 34, false)] as [number, number],
    };
    if (keyAf(k) !== af) d.af = keyAf(k);
    if (keyProto(k) !== b[o.proto]) d.proto = keyProto(k);
    return d;
  }) as DecodedState['key'];
  const rtZero = b.subarray(o.rtAddr, o.rtAddr + (rtAf === 'inet' ? 4 : 16)).every((x) => x === 0);
  // u32 rule numbers, 0xffffffff = none (-1 here).
  const s32 = (off: number) => { const v = dv.getUint32(off, false); return v === 0xffffffff ? -1 : v; };
  const counters = (off: number): [bigint, bigint] =>
    layout === 'pf-export'
      ? [dv.getBigUint64(off, true), dv.getBigUint64(off + 8, true)]
      : [(BigInt(dv.getUint32(off, false)) << 32n) | BigInt(dv.getUint32(off + 4, false)),
        (BigInt(dv.getUint32(off + 8, false)) << 32n) | BigInt(dv.getUint32(off + 12, false))];
  const ifname = cString(b, o.ifname);
  return {
    id: hex(b, o.id, 8),
    creatorid: dv.getUint32(o.creatorid, true).toString(16).padStart(8, '0'),
    ifname,
    orig_ifname: o.origIfname >= 0 ? cString(b, o.origIfname) : ifname,
    af,
    proto: b[o.proto],
    direction: b[o.direction] === PF_OUT ? 'out' : 'in',
    key,
    rt: o.rt >= 0 ? b[o.rt] : 0,
    rt_addr: rtZero ? undefined : formatAddr(rtAf, b, o.rtAddr),
    ...(rtZero || rtAf === af ? {} : { rt_af: rtAf }),
    rt_ifname: o.rtIfname >= 0 ? cString(b, o.rtIfname) : '',
    rule: s32(o.rule), anchor: s32(o.anchor), nat_rule: s32(o.natRule),
    creation: dv.getUint32(o.creation, false), expire: dv.getUint32(o.expire, false),
    packets: counters(o.packets), bytes: counters(o.bytes),
    timeout: b[o.timeout], state_flags: stateFlags(dv, b, o, layout), log: b[o.log],
  };
}
