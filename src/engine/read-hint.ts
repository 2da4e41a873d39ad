/**
 * The kernel-side read filter a set of selections allows (pf netlink GETSTATES filters), and the
 * check that a filtered read really holds everything the plan needs.
 *
 * A kernel filter is used only where it provably cannot lose a selected state or its partner:
 * - never a family: an af-to (NAT64) partner has the other family on the wire, and one pf_nl.c
 *   parsed PF_ST_AF into the proto filter (requests.cc sends PROTO after AF anyway);
 * - a protocol, except ICMP/ICMPv6 (af-to translates one into the other): a partner's lookup key
 *   has the selected state's protocol, and pf filters on the wire key's;
 * - an address (one selection with exactly one src or dst prefix; lists OR, validate.ts): GETSTATES keeps a state when any of its four key
 *   addresses (wire and stack, both ends) matches. Every selected state matches (src/dst is its
 *   wire key). Its partner is found by a key made of the selected state's stack key (outbound) or
 *   wire key (inbound), and every candidate partner carries that key's addresses; so the partner
 *   is certainly in the read exactly when that key holds an address inside the filter.
 *   partnersInRead() checks that for every selected state after the read: a NAT/WAN address
 *   (translated, so absent from the stack key) fails it, and the plan is redone on a full read.
 * Never the interface (partners are on the other one; pf's filter sees floating states as "all").
 */
import type { CompiledSelection } from './compile.js';
import type { PlanOptions, ReadFilterLike, ReadHint, Snapshot } from './types.js';

const ICMP = 1;
const ICMPV6 = 58;

export function readHintFor(selections: CompiledSelection[]): ReadHint {
  const hint: ReadHint = {};
  // Selections are validated and compiled (validate.ts): lists OR, so a hint comes only from a
  // criterion that allows exactly one value.
  const protos = selections.map((s) => (s.proto?.length === 1 ? s.proto[0] : undefined));
  const proto = protos.every((p) => p === protos[0]) ? protos[0] : undefined;
  if (proto !== undefined && proto !== ICMP && proto !== ICMPV6) hint.proto = proto;
  if (selections.length === 1) {
    const s = selections[0];
    const end = s.src?.length === 1 ? s.src[0] : s.dst?.length === 1 ? s.dst[0] : undefined;
    if (end) {
      hint.addr = end.addr;
      hint.mask = end.mask;
    }
  }
  return hint;
}

/** True when the filter asks the kernel to leave states out. */
export function hintFilters(f: ReadFilterLike | undefined): boolean {
  return !!f && (!!f.af || (f.proto !== undefined && f.proto !== 0) || f.addr !== undefined || !!f.ifname);
}

// pf_state_export offsets (the only layout a netlink read produces).
const R = 384, IFNAME = 16, KEY = 48, AF = 264, PROTO = 265, DIR = 266, DIR_OUT = 2, AF_INET = 2, AF_INET6 = 28;
const ONES = new Uint8Array(16).fill(0xff);

// pf_match_addr in the state's wire family, as handle_dumpstates() calls it for all four key
// addresses (sys/netpfil/pf/pf_nl.c): IPv4 compares the first four bytes only.
function inFilter(bytes: Uint8Array, off: number, f: ReadFilterLike, af: number): boolean {
  const a = f.addr!, m = f.mask ?? ONES;
  for (let i = 0, n = af === AF_INET ? 4 : 16; i < n; i++) if ((bytes[off + i] & m[i]) !== (a[i] & m[i])) return false;
  return true;
}

function ifnameIs(bytes: Uint8Array, off: number, name: string): boolean {
  for (let i = 0; i < 16; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0;
    if (bytes[off + i] !== c) return false;
    if (c === 0) return true;
  }
  return true;
}

/** Whether a record is one the kernel's filter should have kept (GETSTATES semantics). */
export function kept(bytes: Uint8Array, rec: number, f: ReadFilterLike): boolean {
  const o = rec * R;
  if (f.ifname && !ifnameIs(bytes, o + IFNAME, f.ifname)) return false;
  if (f.proto && bytes[o + PROTO] !== f.proto) return false;
  if (f.af && bytes[o + AF] !== f.af) return false;
  if (f.addr) {
    const af = bytes[o + AF];
    for (const k of [0, 1]) for (const i of [0, 1]) if (inFilter(bytes, o + KEY + k * 36 + i * 16, f, af)) return true;
    return false;
  }
  return true;
}

/**
 * After a kernel-filtered read: whether the plan's selected states provably have every candidate
 * partner in the read (the module comment's rule), and the kernel kept only what it was asked to
 * (a record outside the filter means the kernel's filter is not the one statekill models).
 */
export function partnersInRead(snap: Snapshot, selected: Int32Array, hint: ReadFilterLike, opts: PlanOptions = {}): boolean {
  if (!hintFilters(hint) || snap.layout !== 'pf-export') return true;
  const b = snap.bytes;
  for (let i = 0; i < snap.count; i++) if (!kept(b, i, hint)) return false;
  if (!(opts.pair ?? true) || !hint.addr) return true;
  const both = (opts.pairRule ?? 'kernel+stack') === 'kernel+stack';
  for (const s of selected) {
    const o = s * R;
    const pfKey = b[o + DIR] === DIR_OUT ? 1 : 0; // kill_match: stack key of outbound, wire key of inbound
    // All 16 bytes: a partner's addresses are judged in its own wire family, which may be either
    // (af-to); matching in full implies matching in the first four bytes as well.
    for (const k of both ? [pfKey, 1 - pfKey] : [pfKey]) {
      const keyOff = o + KEY + k * 36;
      if (!inFilter(b, keyOff, hint, AF_INET6) && !inFilter(b, keyOff + 16, hint, AF_INET6)) return false;
    }
  }
  return true;
}
