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
import type { PlanOptions, ReadHint, Snapshot } from './types.js';

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

/** True when the hint asks the kernel to leave states out. */
export function hintFilters(hint: ReadHint | undefined): boolean {
  return !!hint && (hint.af !== undefined || hint.proto !== undefined || hint.addr !== undefined);
}

// pf_state_export offsets (the only layout a netlink read produces).
const R = 384, KEY = 48, AF = 264, PROTO = 265, DIR = 266, DIR_OUT = 2;

function inFilter(bytes: Uint8Array, off: number, hint: ReadHint): boolean {
  const a = hint.addr!, m = hint.mask!;
  for (let i = 0; i < 16; i++) if ((bytes[off + i] & m[i]) !== (a[i] & m[i])) return false;
  return true;
}

/** Whether a record is one the kernel's filter should have kept (GETSTATES semantics). */
function kept(bytes: Uint8Array, rec: number, hint: ReadHint): boolean {
  const o = rec * R;
  if (hint.proto !== undefined && bytes[o + PROTO] !== hint.proto) return false;
  if (hint.af !== undefined && bytes[o + AF] !== hint.af) return false;
  if (hint.addr) {
    for (const k of [0, 1]) for (const i of [0, 1]) if (inFilter(bytes, o + KEY + k * 36 + i * 16, hint)) return true;
    return false;
  }
  return true;
}

/**
 * After a kernel-filtered read: whether the plan's selected states provably have every candidate
 * partner in the read (the module comment's rule), and the kernel kept only what it was asked to
 * (a record outside the filter means the kernel's filter is not the one statekill models).
 */
export function partnersInRead(snap: Snapshot, selected: Int32Array, hint: ReadHint, opts: PlanOptions = {}): boolean {
  if (!hintFilters(hint) || snap.layout !== 'pf-export') return true;
  const b = snap.bytes;
  for (let i = 0; i < snap.count; i++) if (!kept(b, i, hint)) return false;
  if (!(opts.pair ?? true) || !hint.addr) return true;
  const both = (opts.pairRule ?? 'kernel+stack') === 'kernel+stack';
  for (const s of selected) {
    const o = s * R;
    const pfKey = b[o + DIR] === DIR_OUT ? 1 : 0; // kill_match: stack key of outbound, wire key of inbound
    for (const k of both ? [pfKey, 1 - pfKey] : [pfKey]) {
      const keyOff = o + KEY + k * 36;
      if (!inFilter(b, keyOff, hint) && !inFilter(b, keyOff + 16, hint)) return false;
    }
  }
  return true;
}
