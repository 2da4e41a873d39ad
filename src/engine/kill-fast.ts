/**
 * The kernel filter-kill fast path (issue 14). Where part of a plan is exactly what pf's own gateway
 * kill removes (`pfctl -M -k gateway -k ADDR`: DIOCKILLSTATESNV or netlink KILLSTATES with rt_addr
 * and kill_match, FreeBSD 13.1+), that part is killed by one kernel request per gateway prefix, and
 * only the rest of the plan (partners pf's rule cannot see, such as port-forwards paired by the
 * stack key; NAT-address states) goes by id. The plan, dry run and audit list are unchanged: the
 * plan still comes from the read, and the kernel's count is checked against it.
 *
 * Exactness. For a selection of gateways alone (unscoped, no zero prefix), pf's filter matches
 * exactly the states the engine selects: the same rt_addr under the same mask, af from the wire
 * key, and a non-zero masked address never matches a table-routed (zero) rt_addr. The exception is
 * a next hop of the other family (FreeBSD 15, RFC 8950): pf compares it in the key's family, the
 * engine in its own; such a state inside a filter sends the plan by id (crossFamilyNextHop). With
 * kill_match pf then kills each matched state's partner by its own rule when that partner is
 * unique at that moment (pf_kill_matching_state, sys/netpfil/pf/pf_ioctl.c). Removals only make
 * a match rarer, so a partner unique in the snapshot is the one pf kills, and a lookup that found
 * nothing still finds nothing. A non-unique lookup could become unique only if one of its
 * candidates were removed earlier in the same request, i.e. if a candidate itself matched the
 * filter: then this module refuses the fast path for the plan (the "ambiguity gate"). Kill by id of
 * the rest runs after the filter kill, so it cannot change what the kernel sees.
 *
 * What differs from the exact path: pf's filter also kills states created after the read that match
 * the gateway (and their unique partners); a count that disagrees with the plan is reported.
 */
import { badInput, StatekillError } from '../errors.js';
import { compileCidr } from './compile.js';
import { present } from './compact-read.js';
import { validateSelections } from './validate.js';
import type { PairNative } from '../native/types-engine.js';
import type { PfKillFilterArg } from '../native/types-pf.js';
import { AF_INET, EXPORT_OFFSETS, PRIV, PRIV_KEY_AF, PRIV_RT_AF } from '../table/records.js';
import type { Backend, Plan, PlanOptions, Selection, Snapshot } from './types.js';

/** What pf's own rule pairs, per kill-list entry (from the pairing pass). */
interface KernelRule {
  pair: boolean;
  selectedKernelMask: Uint32Array;
  pairedKernelMask: Uint32Array;
  kernelAmbiguous: Int32Array;
  kernelAmbiguousMask: Uint32Array;
  /** Selections whose pf-rule lookup a state of the selected state's own direction also answers. */
  kernelOffDirectionMask: number;
}

const EMPTY_I = new Int32Array(0);
const EMPTY_U = new Uint32Array(0);
const kernelRules = new WeakMap<Plan, KernelRule>();

/** plan.ts calls this for every pf plan it makes; plans without it (clones) always go by id. */
export function noteKernelRule(plan: Plan, opts: PlanOptions, pr?: PairNative): void {
  kernelRules.set(plan, {
    pair: (opts.pair ?? true) && pr !== undefined,
    selectedKernelMask: pr?.selectedKernelMask ?? EMPTY_U,
    pairedKernelMask: pr?.pairedKernelMask ?? EMPTY_U,
    kernelAmbiguous: pr?.kernelAmbiguous ?? EMPTY_I,
    kernelAmbiguousMask: pr?.kernelAmbiguousMask ?? EMPTY_U,
    kernelOffDirectionMask: pr?.kernelOffDirectionMask ?? 0,
  });
}

/** One pf gateway filter: rt_addr under mask, in one family. */
export interface GatewayFilter {
  af: 2 | 28;
  rtAddr: { addr: Uint8Array; mask: Uint8Array };
}

// Keys a selection may carry and still be exactly pf's gateway filter. Anything else (including
// fields added later) makes the selection inexpressible: the plan then goes by id.
const FILTER_KEYS = new Set(['name', 'gateways', 'af']);

/**
 * The pf filters equal to `s`, or why there are none. Exact only for unscoped gateways with a
 * non-zero (masked) prefix: a zero one would match table-routed states, which the engine never
 * selects; a scope (fe80::1%igb0) needs rt_ifname, which pf's kill filter cannot match.
 */
export function gatewayFiltersOf(s: Selection, index: number): { filters: GatewayFilter[] } | { why: string } {
  const label = s.name ?? `selection ${index + 1}`;
  const other = Object.keys(s).filter((k) => !FILTER_KEYS.has(k) && present((s as Record<string, unknown>)[k]));
  if (other.length) return { why: `${label} uses ${other.join(', ')}, which pf's gateway kill cannot match` };
  if (!s.gateways?.length) return { why: `${label} names no gateway` };
  const filters: GatewayFilter[] = [];
  for (const g of s.gateways) {
    if (g.ifname) return { why: `${label}: a scoped gateway (${g.addr}%${g.ifname}) needs rt_ifname, which pf's kill filter cannot match` };
    // Selection.af may be one family or a list; pf's filter takes one, the state's (psk_af).
    const afs = s.af === undefined ? undefined : Array.isArray(s.af) ? s.af : [s.af];
    if (afs && afs.some((a) => a !== g.af)) return { why: `${label}: af ${afs.join(', ')} and gateway ${g.addr} differ` };
    const c = compileCidr(g, `${label} gateway`);
    if (c.addr.every((b) => b === 0)) return { why: `${label}: gateway prefix ${g.addr}/${g.prefix} contains the zero address, which pf's filter would match on table-routed states` };
    filters.push({ af: c.af === 4 ? 2 : 28, rtAddr: { addr: c.addr, mask: c.mask } });
  }
  return { filters };
}

/** The selections pf's gateway filter expresses (bit i = selection i) and their distinct filters. */
export function gatewayFilters(selections: Selection[]): { mask: number; filters: GatewayFilter[]; why: string[] } {
  let mask = 0;
  const seen = new Map<string, GatewayFilter>();
  const why: string[] = [];
  selections.forEach((s, i) => {
    const r = gatewayFiltersOf(s, i);
    if ('why' in r) {
      why.push(r.why);
      return;
    }
    mask |= 1 << i;
    for (const f of r.filters) seen.set(`${f.af}/${Buffer.from(f.rtAddr.addr).toString('hex')}/${Buffer.from(f.rtAddr.mask).toString('hex')}`, f);
  });
  return { mask, filters: [...seen.values()], why };
}

/** A pf backend that can run pf's filter kill with rt_addr and kill_match. */
interface FilterKiller extends Backend {
  killByFilter(filter: PfKillFilterArg): number;
}

const FILTER_PATHS = new Set(['DIOCKILLSTATESNV', 'netlink KILLSTATES']);

/** Why this backend cannot run pf's gateway kill, or undefined when it can. */
export function filterKillUnavailable(backend: Backend): string | undefined {
  if (typeof (backend as Partial<FilterKiller>).killByFilter !== 'function') return 'the backend has no pf filter kill';
  const path = backend.describe().paths.killByFilter;
  if (!FILTER_PATHS.has(path))
    return `the kernel's filter kill (${path ?? 'none'}) cannot match a gateway with kill_match (needs FreeBSD 13.1+ DIOCKILLSTATESNV or netlink)`;
  return undefined;
}

/** The report's account of how the plan was killed. */
export interface KillPathReport {
  /** 'kernel-filter': pf's own gateway kill took `planned` states, the rest went by id. 'by-id': every state by id. */
  path: 'kernel-filter' | 'by-id';
  /** Why the kernel filter was not used (path 'by-id'). */
  reason?: string;
  /** Gateway filter requests sent. */
  filters: number;
  /** Plan states pf's gateway kill covers (the gateways' states and their partners by pf's rule). */
  planned: number;
  /** What the kernel counted for those requests. */
  counted: number;
  /**
   * counted === planned. When false (states vanished or appeared since the read, or the kernel
   * matched differently), execute confirms the filter part by id: nothing planned is left alive.
   */
  countMatches: boolean;
  /** pf's filter kills every state matching the gateway at kill time, also ones created after the read. */
  alsoKillsNewStates: boolean;
}

export interface FilterKillPart {
  filters: GatewayFilter[];
  killMatch: boolean;
  /** How many plan entries pf's gateway kill removes. */
  planned: number;
  /** The other plan entries (positions in plan.indices, ascending): killed by id. */
  rest: Int32Array;
  /** Whether every selected entry is in the filter part (then positions 0..selected-1 all are). */
  allSelected: boolean;
}

function isSelectedIn(plan: Plan, index: number, mask: number): boolean {
  const n = plan.counts.selected;
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (plan.indices[mid] < index) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && plan.indices[lo] === index && (plan.selectionMask[lo] & mask) !== 0;
}

/** The part of `plan` pf's gateway kill removes exactly, or why none can be used. */
export function filterKillPart(plan: Plan, opts: { kernelFilter?: boolean } = {}): FilterKillPart | { why: string } {
  if (opts.kernelFilter === false) return { why: 'by id as asked' };
  if (plan.layout === 'ct') return { why: 'conntrack' };
  const rule = kernelRules.get(plan);
  if (!rule) return { why: 'the plan was not made here (no pairing record)' };
  const { mask, filters, why } = gatewayFilters(plan.selections);
  if (!mask) return { why: why.join('; ') || 'no gateway selection' };
  // pf's lookup walks the key's states of either direction (pf_find_state_all, sys/netpfil/pf/pf.c);
  // the plan pairs with the other direction only. Where a state of the selected state's own
  // direction has its key, pf would kill that state as the partner, or spare the real one.
  if (rule.pair && rule.kernelOffDirectionMask & mask)
    return { why: "a state pf's rule would find as a partner has the selected state's own direction (pf looks the key up in either direction; the plan pairs only the other)" };
  // The ambiguity gate: pf must never see a non-unique partner become unique mid-request.
  for (let k = 0; k < rule.kernelAmbiguous.length; k++)
    if ((rule.kernelAmbiguousMask[k] & mask) && isSelectedIn(plan, rule.kernelAmbiguous[k], mask))
      return { why: "a partner pf's rule finds more than once is itself on the gateway: pf's result would depend on its scan order" };
  const n = plan.counts.selected, np = plan.counts.paired, total = plan.indices.length;
  // One pass, JIT-cold in a fresh process: every selected entry is in when every selection is.
  const allSelected = mask === (plan.selections.length === 32 ? -1 : (1 << plan.selections.length) - 1);
  const rest = new Int32Array(total);
  let r = 0;
  if (!allSelected)
    for (let i = 0; i < n; i++)
      if (!((plan.selectionMask[i] | (rule.pair ? rule.selectedKernelMask[i] : 0)) & mask)) rest[r++] = i;
  for (let j = 0; j < np; j++) if (!(rule.pair && rule.pairedKernelMask[j] & mask)) rest[r++] = n + j;
  for (let k = n + np; k < total; k++) rest[r++] = k;
  return { filters, killMatch: rule.pair, planned: total - r, rest: rest.subarray(0, r), allSelected };
}

/**
 * Whether a state of the table has a next hop of another family than its wire key (FreeBSD 15's
 * PF_ST_RT_AF: an IPv4 state routed via an IPv6 next hop, RFC 8950; NAT64 states) that a filter
 * would treat differently from the engine. pf's filter checks psk_af against the wire key's family
 * and compares rt_addr in that family (pf_killstates_row, sys/netpfil/pf/pf_ioctl.c:
 * PF_MATCHA(..., rt_addr, sk->af)), so an IPv6 gateway filter never kills such a state and an IPv4
 * one compares the next hop's first word; the engine matches the next hop in its own family. Only
 * netlink reads of 15-era kernels carry these families (the private bytes, record_codec.h).
 */
export function crossFamilyNextHop(snap: Snapshot, filters: GatewayFilter[]): string | undefined {
  if (snap.layout !== 'pf-export') return undefined;
  const b = snap.bytes, R = EXPORT_OFFSETS.stride, AF = EXPORT_OFFSETS.af, RT = EXPORT_OFFSETS.rtAddr;
  const under = (o: number, f: GatewayFilter, len: number) => {
    for (let k = 0; k < len; k++) if ((b[o + RT + k] & f.rtAddr.mask[k]) !== f.rtAddr.addr[k]) return false;
    return true;
  };
  for (let i = 0, o = 0; i < snap.count; i++, o += R) {
    const flags = b[o + PRIV];
    if (!(flags & PRIV_RT_AF)) continue;
    const rtAf = b[o + PRIV + 1];
    const wireAf = flags & PRIV_KEY_AF && b[o + PRIV + 2] ? b[o + PRIV + 2] : b[o + AF];
    if (!rtAf || rtAf === wireAf) continue;
    const rtLen = rtAf === AF_INET ? 4 : 16, wireLen = wireAf === AF_INET ? 4 : 16;
    let zero = true;
    for (let k = 0; k < rtLen && zero; k++) zero = b[o + RT + k] === 0;
    if (zero) continue; // table-routed: on no gateway for either reading
    for (const f of filters)
      if ((f.af === rtAf && under(o, f, rtLen)) || (f.af === wireAf && under(o, f, wireLen)))
        return 'a state of the table has a next hop of the other family (RFC 8950 or af-to), which pf\'s gateway filter reads in the state\'s own family';
  }
  return undefined;
}

/** Marks the plan entries in `part` (all but part.rest) with `code`. */
function markFilterPart(part: FilterKillPart, n: number, results: Int32Array, code: number): void {
  let from = 0;
  if (part.allSelected) {
    results.fill(code, 0, n);
    from = n;
  }
  let k = 0;
  while (k < part.rest.length && part.rest[k] < from) k++;
  for (let i = from; i < results.length; i++) {
    if (k < part.rest.length && part.rest[k] === i) k++;
    else results[i] = code;
  }
}

/**
 * Runs pf's gateway kill for `part` (one request per filter). Returns what the kernel counted.
 * Each request carries a non-zero rt_addr mask, and the device refuses an all-zero filter anyway.
 */
export function runFilterKill(backend: Backend, part: Pick<FilterKillPart, 'filters' | 'killMatch'>): number {
  const be = backend as FilterKiller;
  let counted = 0;
  for (const f of part.filters) counted += be.killByFilter({ af: f.af, rtAddr: f.rtAddr, killMatch: part.killMatch });
  return counted;
}

/**
 * execute's hook: when `plan` has a part pf's gateway kill removes exactly and the kernel can run
 * it, kills that part in the kernel, marks its entries killed in `results` and returns the plan
 * positions left for the by-id kill. When the kernel's count disagrees, execute confirms the
 * filter part by id as well (the marks are then overwritten).
 */
export function killGatewayPart(backend: Backend, snap: Snapshot, plan: Plan, opts: { pfFilterKill?: boolean }, results: Int32Array):
  { report: KillPathReport; rest?: Int32Array } {
  const byId = (reason: string) => ({
    report: { path: 'by-id' as const, reason, filters: 0, planned: 0, counted: 0, countMatches: true, alsoKillsNewStates: false },
  });
  if (plan.indices.length === 0) return byId('nothing to kill');
  const part = filterKillPart(plan, { kernelFilter: opts.pfFilterKill });
  if ('why' in part) return byId(part.why);
  const unavailable = filterKillUnavailable(backend);
  if (unavailable) return byId(unavailable);
  if (part.planned === 0) return byId('no planned state is on the gateways');
  const crossFamily = crossFamilyNextHop(snap, part.filters);
  if (crossFamily) return byId(crossFamily);
  const counted = runFilterKill(backend, part);
  const countMatches = counted === part.planned;
  markFilterPart(part, plan.counts.selected, results, 0);
  return {
    report: { path: 'kernel-filter', filters: part.filters.length, planned: part.planned, counted, countMatches, alsoKillsNewStates: true },
    rest: part.rest,
  };
}

/** What `killByKernelRule` did: a count only (pf's gateway kill lists nothing). */
export interface KernelRuleKill {
  killed: number;
  /** Gateway filter requests sent (one per distinct prefix). */
  filters: number;
  /** The kernel path, e.g. DIOCKILLSTATESNV or netlink KILLSTATES. */
  path: string;
  ms: number;
  /** What this mode leaves alive, by design. */
  left: string;
}

export const KERNEL_RULE_LEFT =
  "partners pf's rule cannot see are left alive (port-forwards and other states paired only by the stack key), " +
  "and so are partners pf's rule finds more than once (not unique) and states reached only by a NAT address; " +
  'nothing is listed, and states created on the gateway meanwhile die too';

/** What a gateway kill without kill_match (pair: false, --no-pair) leaves. */
export const KERNEL_RULE_LEFT_NO_PAIR =
  "every partner is left alive (no kill_match: only the gateway's own states die), and so are states reached only by " +
  'a NAT address; nothing is listed, and states created on the gateway meanwhile die too';

/**
 * pf's own gateway kill and nothing else (`pfctl -M -k gateway -k ADDR` per gateway): no read, no
 * plan, no list. For selections of gateways alone, validated as plan() validates them (`force` as
 * PlanOptions.force); anything else is refused (E_BAD_INPUT). `killMatch` false kills the gateway's
 * states without their partners.
 */
export function killByKernelRule(backend: Backend, selections: Selection[], killMatch = true, force = false): KernelRuleKill {
  // The one validation point first, as plan() does: an unscoped link-local gateway, host bits, an
  // empty list or a criterion pf cannot answer is E_BAD_INPUT here too, never a wider kernel kill.
  const valid = validateSelections(selections, { backend: 'pf', force });
  const filters = new Map<string, GatewayFilter>();
  valid.selections.forEach((s, i) => {
    const r = gatewayFiltersOf(s, i);
    if ('why' in r) throw badInput(`kernel rule kill: ${r.why}; use the planned kill`);
    for (const f of r.filters) filters.set(`${f.af}/${Buffer.from(f.rtAddr.addr).toString('hex')}/${Buffer.from(f.rtAddr.mask).toString('hex')}`, f);
  });
  const unavailable = filterKillUnavailable(backend);
  if (unavailable) throw new StatekillError(`kernel rule kill: ${unavailable}`, 95, 'ENOTSUP');
  const t = performance.now();
  const killed = runFilterKill(backend, { filters: [...filters.values()], killMatch });
  return {
    killed, filters: filters.size, path: backend.describe().paths.killByFilter, ms: performance.now() - t,
    left: killMatch ? KERNEL_RULE_LEFT : KERNEL_RULE_LEFT_NO_PAIR,
  };
}
