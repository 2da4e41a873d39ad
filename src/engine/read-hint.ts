/**
 * The kernel-side read filter a set of selections allows. Only what keeps every selected state
 * AND its partner: family and protocol (a partner shares them), and an address that is one end of
 * the connection (src/dst: a partner's keys carry both ends). Never the interface (partners are on
 * the other one, and pf's filter sees floating states as "all") nor a NAT address (the inside
 * partner does not carry it). Works on validated, compiled selections (validate.ts): lists OR, so a
 * hint is taken only from a criterion that allows exactly one value.
 */
import type { CompiledCidr, CompiledSelection } from './compile.js';
import type { ReadHint } from './types.js';

/** The one family a selection can match, if its criteria pin one (every list entry of one family). */
function familyOf(s: CompiledSelection): 4 | 6 | undefined {
  const sets: (4 | 6)[][] = [];
  if (s.af) sets.push(s.af);
  for (const l of [s.gateways, s.natAddrs, s.src, s.dst] as (CompiledCidr[] | undefined)[])
    if (l) sets.push([...new Set(l.map((c) => c.af))]);
  // Criteria AND: the families possible are the intersection of each criterion's families.
  let possible: (4 | 6)[] = [4, 6];
  for (const f of sets) possible = possible.filter((x) => f.includes(x));
  return possible.length === 1 ? possible[0] : undefined;
}

export function readHintFor(selections: CompiledSelection[]): ReadHint {
  const hint: ReadHint = {};
  const fams = selections.map(familyOf);
  if (fams.every((f) => f !== undefined && f === fams[0])) hint.af = fams[0] === 4 ? 2 : 28;
  const protos = selections.map((s) => (s.proto?.length === 1 ? s.proto[0] : undefined));
  if (protos.every((p) => p !== undefined && p === protos[0])) hint.proto = protos[0];
  if (selections.length === 1 && !selections[0].natAddrs) {
    const s = selections[0];
    // Each of src and dst is necessary on its own (criteria AND): either one with a single entry will do.
    const end = s.src?.length === 1 ? s.src[0] : s.dst?.length === 1 ? s.dst[0] : undefined;
    if (end) {
      hint.addr = end.addr;
      hint.mask = end.mask;
    }
  }
  return hint;
}
