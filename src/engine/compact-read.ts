/**
 * When a plan may read the kernel's 242-byte pfsync_state records (DIOCGETSTATES) instead of the
 * 384-byte pf_state_export ones (DIOCGETSTATESV2): 37% less memory to fault in and copy (issue 14).
 * The 242-byte record lacks orig_ifname (a floating state's real interface), rt and rt_ifname
 * (pf-abi.md 2.9 vs 2.11), and truncates state_flags and the counters' layout; ids, keys, af,
 * proto, direction, rt_addr and the rule number, which the other selectors read, are the same bytes.
 */
import type { Selection } from './types.js';

// Selectors answered from fields both records carry. Anything else (interfaces, rtInterfaces, a
// scoped gateway, and fields added later) keeps the full record.
const COMPACT_KEYS = new Set(['name', 'gateways', 'natAddrs', 'af', 'proto', 'src', 'dst', 'srcPort', 'dstPort', 'rules']);

/** A selector that is set: not undefined, not an empty list. */
export function present(v: unknown): boolean {
  return v !== undefined && !(Array.isArray(v) && v.length === 0);
}

export function compactRecordsSuffice(selections: Selection[]): boolean {
  return selections.every((s) =>
    Object.entries(s).every(([k, v]) => COMPACT_KEYS.has(k) || !present(v)) && !(s.gateways ?? []).some((g) => g.ifname));
}
