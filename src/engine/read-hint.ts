/**
 * The kernel-side read filter a set of selections allows. Only what keeps every selected state
 * AND its partner: family and protocol (a partner shares them). Never an address: a partner need
 * not carry it (a NAT'd state's wire source is the WAN address; its LAN-side partner holds only
 * the client's), so `--src <NAT address>` over netlink lost every partner (issue 10 item 10);
 * never the interface (partners are on the other one) nor a NAT address. Works on validated,
 * compiled selections (validate.ts): lists OR, so a hint comes only from a criterion that allows
 * exactly one value.
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
  return hint;
}
