/**
 * The kernel-side read filter a set of selections allows. Only what keeps every selected state
 * AND its partner: family and protocol (a partner shares them), and an address that is one end of
 * the connection (src/dst: a partner's keys carry both ends). Never the interface (partners are on
 * the other one, and pf's filter sees floating states as "all") nor a NAT address (the inside
 * partner does not carry it).
 */
import { compileCidr } from './compile.js';
import type { ReadHint, Selection } from './types.js';

function same<T>(values: (T | undefined)[]): T | undefined {
  return values.every((v) => v !== undefined && v === values[0]) ? values[0] : undefined;
}

export function readHintFor(selections: Selection[]): ReadHint {
  const hint: ReadHint = {};
  const af = same(selections.map((s) => s.af ?? s.gateways?.[0]?.af ?? s.src?.af ?? s.dst?.af));
  if (af && selections.every((s) => (s.gateways ?? []).every((g) => g.af === af))) hint.af = af === 'inet' ? 2 : 28;
  const proto = same(selections.map((s) => s.proto));
  if (proto !== undefined) hint.proto = proto;
  if (selections.length === 1 && !selections[0].natAddrs?.length) {
    const end = selections[0].src ?? selections[0].dst;
    if (end) {
      const c = compileCidr(end, 'read hint');
      hint.addr = c.addr;
      hint.mask = c.mask;
    }
  }
  return hint;
}
