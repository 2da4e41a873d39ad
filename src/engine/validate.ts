/**
 * The one validation point for selections. The library (StateTable.plan, buildPlan, streamSelect)
 * and the CLI (before it opens any kernel) pass untrusted Selection[] through validateSelections,
 * which returns clean copies and their compiled form, or throws E_BAD_INPUT naming the selector and
 * a short echo of the value. An empty, mistyped, out-of-range or inapplicable value is refused,
 * never read as "absent"; so are unknown fields. After the read, checkSnapshot refuses what this
 * table's records cannot answer (a scoped gateway on records without rt_ifname).
 *
 * Adding a Selection field is one entry in RULES: where it applies, its flag, one check function.
 */
import { badInput } from '../errors.js';
import { parseAddr } from './addr.js';
import { compileCidr, type CompiledCidr, type CompiledSelection } from './compile.js';
import { MAX_LABEL_BYTES } from './labels.js';
import { show } from './show.js';
import type { Cidr, PlanOptions, Selection, Snapshot } from './types.js';

export type BackendKind = 'pf' | 'conntrack';

export interface ValidateTarget {
  backend: BackendKind;
  /** pf: whether the records carry rt_ifname (Snapshot.hasRouteInfo); undefined before the read. */
  hasRouteInfo?: boolean;
  /** Accept /0 prefixes, host bits and unscoped link-local gateways (PlanOptions.force, --force). */
  force?: boolean;
  /** Name selectors by their CLI flags (--gateway) instead of Selection fields (gateways). */
  cli?: boolean;
}

export interface ValidSelections {
  /** Clean copies of the input: known fields only, same shapes, safe from later changes by the caller. */
  selections: Selection[];
  compiled: CompiledSelection[];
  target: ValidateTarget;
}

/** One mask bit per selection in the select kernels. */
export const MAX_SELECTIONS = 32;
const MAX_LIST = 65536;
const MAX_NAME = 256;
/** pf's rule fields are u32 with 0xffffffff meaning "none" (pf-abi.md 3.4): the largest real rule number. */
export const MAX_RULE = 0xfffffffe;
const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/; // IFNAMSIZ 16 with the NUL

/** Where a value sits, for messages: "--gateway" (CLI) or "selection 2 ('WAN1') gateways[0]". */
interface Field {
  readonly target: ValidateTarget;
  at(index?: number): string;
  fail(problem: string, index?: number): never;
  /** How to override a refusal that --force / force: true lifts. */
  readonly forceHint: string;
}

interface Rule {
  /** Which tables the criterion can be answered on. */
  on: 'pf' | 'conntrack' | 'both';
  flag: string;
  /** Checks `v`, stores its compiled form in `out`, returns the clean copy. */
  check(v: unknown, f: Field, out: CompiledSelection): unknown;
}

// ---- value checks -------------------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], f: Field, i?: number): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) f.fail(`unknown field ${show(k)} (expected ${allowed.join(', ')})`, i);
}

function integer(v: unknown, f: Field, min: number, max: number, what: string, i?: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) f.fail(`${what}: expected an integer ${min}-${max}, got ${show(v)}`, i);
  if ((v as number) < min || (v as number) > max) f.fail(`${what} ${v} out of range ${min}-${max}`, i);
  return v as number;
}

/** A list (never empty), or where `scalar` allows it one bare value; the clean copy keeps the shape. */
function oneOrList<T>(v: unknown, f: Field, scalar: boolean, item: (x: unknown, i?: number) => T): { clean: unknown; items: T[] } {
  if (!Array.isArray(v)) {
    if (!scalar) f.fail(`expected a list, got ${show(v)}`);
    const one = item(v);
    return { clean: cleanOf(one, v), items: [one] };
  }
  if (v.length === 0) f.fail('an empty list selects nothing and is not "no restriction": leave the field out, or give a value');
  if (v.length > MAX_LIST) f.fail(`${v.length} values; at most ${MAX_LIST}`);
  const items: T[] = [];
  for (let i = 0; i < v.length; i++) items.push(item(v[i], i)); // holes too: a sparse list's hole is undefined, refused
  return { clean: items.map((it, i) => cleanOf(it, v[i])), items };
}

// Items that compile to something else carry their clean copy beside it.
interface WithClean<C> { compiled: C; clean: unknown }
function cleanOf(item: unknown, raw: unknown): unknown {
  return typeof item === 'object' && item !== null && 'clean' in item ? (item as WithClean<unknown>).clean : raw;
}

function ifname(v: unknown, f: Field, i?: number): string {
  if (typeof v !== 'string' || !IFNAME.test(v)) f.fail(`expected an interface name of 1-15 characters [A-Za-z0-9_.:-], got ${show(v)}`, i);
  return v as string;
}

/** fe80::/10 */
function isLinkLocal(b: Uint8Array): boolean {
  return b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
}

function cidr(v: unknown, f: Field, kind: 'gateway' | 'address', i?: number): WithClean<CompiledCidr> {
  if (!isPlainObject(v)) f.fail(`expected {af, addr, prefix}, got ${show(v)}`, i);
  const o = v as Record<string, unknown>;
  if (kind !== 'gateway' && o.ifname !== undefined)
    f.fail(`an interface scope (${show(o.ifname)}) applies to gateways only; select the state's interface with ${f.target.cli ? '--interface' : 'interfaces'}`, i);
  onlyKeys(o, kind === 'gateway' ? ['af', 'addr', 'prefix', 'ifname'] : ['af', 'addr', 'prefix'], f, i);
  const { af, addr, prefix } = o;
  const scope = o.ifname;
  if (af !== 'inet' && af !== 'inet6') f.fail(`af: expected 'inet' or 'inet6', got ${show(af)}`, i);
  if (typeof addr !== 'string' || addr === '') f.fail(`addr: expected an address, got ${show(addr)}`, i);
  const a = addr as string;
  // node's isIPv6 accepts zone ids ("fe80::1%igb0", even "fe80::1%1.2.3.4"); a scope is never part of addr.
  if (a.includes('%')) f.fail(`addr ${show(a)}: a scope does not belong in the address${kind === 'gateway' ? " (give it as ifname: {addr: 'fe80::1', ifname: 'igb0'})" : ''}`, i);
  const p = a.length <= 64 ? parseAddr(a) : undefined;
  if (!p) f.fail(`addr ${show(a)} is not an IPv4 or IPv6 address`, i);
  if (p!.af !== af) f.fail(`addr ${show(a)} is not an ${af as string} address`, i);
  const max = af === 'inet' ? 32 : 128;
  integer(prefix, f, 0, max, 'prefix length', i);
  const pre = prefix as number;
  const clean: Cidr = { af: af as 'inet' | 'inet6', addr: a, prefix: pre };
  if (scope !== undefined) {
    if (af !== 'inet6') f.fail(`an interface scope (${show(scope)}) applies to IPv6 only`, i);
    clean.ifname = ifname(scope, f, i);
  }
  const compiled = compileCidr(clean, f.at(i));
  const text = `${a}${clean.ifname ? `%${clean.ifname}` : ''}/${pre}`;
  if (!f.target.force) {
    if (pre === 0)
      f.fail(`${text} is a /0 prefix: it matches every ${af as string} address (select the family with ${f.target.cli ? '--af' : 'af'}; ${f.forceHint} if every address is meant)`, i);
    if (compiled.addr.some((x, k) => x !== p!.bytes[k]))
      f.fail(`${text} has host bits set below the prefix length (a typo for a host or for the network?) (${f.forceHint} to use the network)`, i);
  }
  if (kind === 'gateway' && af === 'inet6' && clean.ifname === undefined && !f.target.force) {
    // fe80::1 is a different router on every link: unscoped, it names every WAN's gateway at once.
    const inside = pre >= 10 && isLinkLocal(p!.bytes);
    const covers = pre > 0 && pre < 10 && (0xfe & compiled.mask[0]) === compiled.addr[0] && (0x80 & compiled.mask[1]) === compiled.addr[1];
    if (inside || covers)
      f.fail(`${text}: an IPv6 link-local gateway is on every link; give its interface (${f.target.cli ? 'fe80::1%igb0' : "ifname: 'igb0'"}) or ${f.forceHint} to match it on every interface`, i);
  }
  return { compiled, clean };
}

function cidrs(v: unknown, f: Field, kind: 'gateway' | 'address', scalar: boolean): { clean: unknown; compiled: CompiledCidr[] } {
  const r = oneOrList(v, f, scalar, (x, i) => cidr(x, f, kind, i));
  return { clean: r.clean, compiled: r.items.map((c) => c.compiled) };
}

function names(v: unknown, f: Field): string[] {
  return oneOrList(v, f, false, (x, i) => ifname(x, f, i)).items;
}

// ---- the rules, one per Selection field ---------------------------------------------------------

const RULES: Record<Exclude<keyof Selection, 'name'>, Rule> = {
  gateways: {
    on: 'pf', flag: '--gateway',
    check: (v, f, out) => { const r = cidrs(v, f, 'gateway', false); out.gateways = r.compiled; return r.clean; },
  },
  natAddrs: {
    on: 'pf', flag: '--nat-addr',
    check: (v, f, out) => { const r = cidrs(v, f, 'address', false); out.natAddrs = r.compiled; return r.clean; },
  },
  defaultRouted: {
    // No route-to/reply-to next hop (rt_addr all zero); the policy pairs it with natAddrs.
    on: 'pf', flag: 'defaultRouted',
    check: (v, f, out) => {
      if (v !== true) f.fail(`expected true (or leave it out), got ${show(v)}`);
      out.defaultRouted = true;
      return true;
    },
  },
  interfaces: { on: 'pf', flag: '--interface', check: (v, f, out) => (out.interfaces = names(v, f)).slice() },
  rtInterfaces: { on: 'pf', flag: '--rt-interface', check: (v, f, out) => (out.rtInterfaces = names(v, f)).slice() },
  af: {
    on: 'both', flag: '--af',
    check: (v, f, out) => {
      const r = oneOrList(v, f, true, (x, i) => {
        if (x !== 'inet' && x !== 'inet6') f.fail(`expected 'inet' or 'inet6', got ${show(x)}`, i);
        return x as 'inet' | 'inet6';
      });
      out.af = [...new Set(r.items.map((x) => (x === 'inet' ? 4 : 6) as 4 | 6))];
      return r.clean;
    },
  },
  proto: {
    on: 'both', flag: '--proto',
    check: (v, f, out) => {
      const r = oneOrList(v, f, true, (x, i) => integer(x, f, 0, 255, 'protocol', i));
      out.proto = r.items;
      return r.clean;
    },
  },
  src: { on: 'both', flag: '--src', check: (v, f, out) => { const r = cidrs(v, f, 'address', true); out.src = r.compiled; return r.clean; } },
  dst: { on: 'both', flag: '--dst', check: (v, f, out) => { const r = cidrs(v, f, 'address', true); out.dst = r.compiled; return r.clean; } },
  srcPort: {
    on: 'both', flag: '--src-port',
    check: (v, f, out) => { const r = oneOrList(v, f, true, (x, i) => integer(x, f, 0, 65535, 'port', i)); out.srcPort = r.items; return r.clean; },
  },
  dstPort: {
    on: 'both', flag: '--dst-port',
    check: (v, f, out) => { const r = oneOrList(v, f, true, (x, i) => integer(x, f, 0, 65535, 'port', i)); out.dstPort = r.items; return r.clean; },
  },
  rules: {
    on: 'pf', flag: '--rule',
    check: (v, f, out) => {
      // u32 in the records, 0xffffffff = no rule: numbers above 2^32 would wrap onto real rules.
      const r = oneOrList(v, f, false, (x, i) => integer(x, f, 0, MAX_RULE, 'rule number', i));
      out.rules = r.items;
      return r.clean;
    },
  },
  labels: {
    on: 'pf', flag: '--label',
    check: (v, f, out) => {
      const r = oneOrList(v, f, false, (x, i) => {
        if (typeof x !== 'string' || x === '') f.fail(`expected a non-empty label, got ${show(x)}`, i);
        const l = x as string;
        if (l.includes('\0')) f.fail(`label ${show(l)} contains NUL`, i);
        const bytes = Buffer.byteLength(l, 'utf8');
        if (bytes > MAX_LABEL_BYTES) f.fail(`label ${show(l)} is ${bytes} bytes; pf keeps at most ${MAX_LABEL_BYTES}`, i);
        return l;
      });
      // Resolved to rule numbers against the table's rules at plan time (labels.ts); until then it
      // matches nothing, never everything.
      out.labelRules = [];
      return r.clean;
    },
  },
  ids: {
    on: 'both', flag: '--id',
    check: (v, f, out) => {
      const pf = f.target.backend === 'pf';
      const maxId = pf ? 0xffffffffffffffffn : 0xffffffffn;
      const r = oneOrList(v, f, false, (x, i) => {
        if (!isPlainObject(x)) f.fail(`expected {id${pf ? ', creatorid' : ''}}, got ${show(x)}`, i);
        const o = x as Record<string, unknown>;
        onlyKeys(o, pf ? ['id', 'creatorid'] : ['id'], f, i);
        if (typeof o.id !== 'bigint') f.fail(`id: expected a bigint, got ${show(o.id)}`, i);
        const id = o.id as bigint;
        // pfctl refuses id 0 too: a kill with id 0 is a filter kill that matches every state.
        if (id <= 0n || id > maxId) f.fail(`id ${id} out of range 1-${maxId}`, i);
        const clean: { id: bigint; creatorid?: number } = { id };
        if (o.creatorid !== undefined) {
          // pfctl reads creator id 0 as "this host"; statekill matches creator ids as listed.
          clean.creatorid = integer(o.creatorid, f, 1, 0xffffffff, 'creatorid', i);
        }
        return { compiled: clean, clean };
      });
      const n = r.items.length;
      const ids = { id: new BigUint64Array(n), creatorid: new Uint32Array(n), anyCreator: new Uint8Array(n) };
      r.items.forEach(({ compiled: c }, i) => {
        ids.id[i] = c.id;
        ids.creatorid[i] = c.creatorid ?? 0;
        ids.anyCreator[i] = c.creatorid === undefined ? 1 : 0;
      });
      out.ids = ids;
      return r.clean;
    },
  },
  mark: {
    on: 'conntrack', flag: '--mark',
    check: (v, f, out) => {
      if (!isPlainObject(v)) f.fail(`expected {value, mask}, got ${show(v)}`);
      const o = v as Record<string, unknown>;
      onlyKeys(o, ['value', 'mask'], f);
      const value = integer(o.value, f, 0, 0xffffffff, 'mark value');
      const mask = integer(o.mask, f, 0, 0xffffffff, 'mark mask');
      if (mask === 0) f.fail('mask 0 matches every entry; give the bits that carry the mark');
      if (((value & ~mask) >>> 0) !== 0)
        f.fail(`value 0x${value.toString(16)} has bits outside mask 0x${mask.toString(16)}: no entry can match (value & mask would be a different mark)`);
      out.mark = { value, mask };
      return { value, mask };
    },
  },
  zone: { on: 'conntrack', flag: '--zone', check: (v, f, out) => (out.zone = integer(v, f, 0, 65535, 'zone')) },
  replyDst: {
    on: 'conntrack', flag: '--reply-dst',
    check: (v, f, out) => { const r = cidr(v, f, 'address'); out.replyDst = r.compiled; return r.clean; },
  },
};

function applies(on: Rule['on'], backend: BackendKind): boolean {
  return on === 'both' || on === backend;
}

// ---- selections --------------------------------------------------------------------------------

function fieldFor(t: ValidateTarget, label: string, key: string, flag: string): Field {
  const at = (index?: number) => (t.cli ? flag : `${label} ${key}${index === undefined ? '' : `[${index}]`}`);
  return {
    target: t,
    at,
    fail: (problem, index) => { throw badInput(`${at(index)}: ${problem}`); },
    forceHint: t.cli ? 'add --force' : 'set force: true',
  };
}

function checkTarget(t: ValidateTarget): void {
  if (!isPlainObject(t) || (t.backend !== 'pf' && t.backend !== 'conntrack'))
    throw badInput(`validateSelections: target.backend must be 'pf' or 'conntrack', got ${show(isPlainObject(t) ? t.backend : t)}`);
  if (t.force !== undefined && typeof t.force !== 'boolean') throw badInput(`force: expected true or false, got ${show(t.force)}`);
}

function validateOne(s: unknown, index: number, t: ValidateTarget): { clean: Selection; compiled: CompiledSelection } {
  let label = `selection ${index + 1}`;
  if (!isPlainObject(s)) throw badInput(`${label}: expected an object of selectors, got ${show(s)}`);
  const clean: Selection = {};
  const name = s.name;
  if (name !== undefined) {
    if (typeof name !== 'string' || name.length > MAX_NAME) throw badInput(`${label}: name: expected a string of at most ${MAX_NAME} characters, got ${show(name)}`);
    clean.name = name;
    label = `${label} (${show(name)})`;
  }
  for (const k of Object.keys(s))
    if (k !== 'name' && !Object.hasOwn(RULES, k)) throw badInput(`${label}: unknown selector ${show(k)}`);
  const compiled: CompiledSelection = {};
  let criteria = 0;
  for (const [key, rule] of Object.entries(RULES) as [keyof typeof RULES, Rule][]) {
    const v = s[key]; // read once: the checks below see one value even if a getter would change it
    if (v === undefined) continue;
    const f = fieldFor(t, label, key, rule.flag);
    if (!applies(rule.on, t.backend))
      f.fail(`applies to ${rule.on === 'pf' ? 'pf states' : 'conntrack entries'} only; this is the ${t.backend} backend`);
    (clean as Record<string, unknown>)[key] = rule.check(v, f, compiled);
    criteria++;
  }
  // The only selection with no criterion is "every state": never by accident.
  if (criteria === 0) throw badInput(`${t.cli ? '' : `${label}: `}no selector given; refusing to select every state (pfctl -Fs or conntrack -F clears a whole table)`);
  if (t.hasRouteInfo === false) requireNoRouteInfo(compiled, t, label);
  return { clean, compiled };
}

/**
 * Validates untrusted selections for a target; returns clean copies and the compiled form, or
 * throws E_BAD_INPUT naming the selector and value. Nothing is read or killed before this passes.
 */
export function validateSelections(input: unknown, target: ValidateTarget): ValidSelections {
  checkTarget(target);
  if (!Array.isArray(input)) throw badInput(`selections: expected a list of selections, got ${show(input)}`);
  if (input.length === 0) throw badInput('selections: at least one selection is needed');
  if (input.length > MAX_SELECTIONS) throw badInput(`selections: ${input.length} given; at most ${MAX_SELECTIONS} per pass`);
  const selections: Selection[] = [];
  const compiled: CompiledSelection[] = [];
  for (let i = 0; i < input.length; i++) {
    const r = validateOne(input[i], i, target);
    selections.push(r.clean);
    compiled.push(r.compiled);
  }
  return { selections, compiled, target: { ...target } };
}

/** True when the selection has no criterion at all (only a name): it would select every state. */
export function isEmptySelection(s: Selection): boolean {
  return Object.keys(s).every((k) => k === 'name' || (s as Record<string, unknown>)[k] === undefined);
}

function requireNoRouteInfo(c: CompiledSelection, t: ValidateTarget, label: string): void {
  const scoped = c.gateways?.find((g) => g.ifname !== undefined);
  const what = scoped ? (t.cli ? '--gateway ADDR%IF' : 'a gateway with ifname') : c.rtInterfaces ? (t.cli ? '--rt-interface' : 'rtInterfaces') : undefined;
  if (!what) return;
  // FreeBSD 13's records (and every pfsync_state) carry rt_addr but no rt_ifname: a scope cannot be
  // checked, so "0 selected" would be a silent miss.
  throw badInput(`${t.cli ? what : `${label} ${what}`}: this table's records carry no route-to interface (rt_ifname: ` +
    'FreeBSD 13 and older, and 242-byte pfsync_state records), so the interface cannot be checked. ' +
    `Select the gateway by address alone (a link-local one with ${t.cli ? '--force' : 'force: true'}: it then matches that address on every interface)`);
}

/**
 * After the read: refuses selections this table's records cannot answer (the wrong kind of table, a
 * route-to interface on records that carry none). Runs on every planning path.
 */
export function checkSnapshot(v: ValidSelections, snap: Snapshot): void {
  const kind: BackendKind = snap.layout === 'ct' ? 'conntrack' : 'pf';
  if (kind !== v.target.backend)
    throw badInput(`these selections were validated for the ${v.target.backend} backend, but the table holds ${kind} records`);
  if (kind === 'pf' && !snap.hasRouteInfo)
    v.compiled.forEach((c, i) => requireNoRouteInfo(c, v.target, `selection ${i + 1}`));
}

/** Plan options: wrong types would silently mean the default (a pairRule typo = 'kernel'). */
export function validatePlanOptions(o: unknown): PlanOptions {
  if (o === undefined) return {};
  if (!isPlainObject(o)) throw badInput(`plan options: expected an object, got ${show(o)}`);
  const bool = (k: string) => {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw badInput(`${k}: expected true or false, got ${show(o[k])}`);
  };
  for (const k of ['pair', 'killAmbiguous', 'force', 'dryRun', 'fullRecords', 'pfFilterKill']) bool(k);
  if (o.pairRule !== undefined && o.pairRule !== 'kernel' && o.pairRule !== 'kernel+stack')
    throw badInput(`pairRule: expected 'kernel' or 'kernel+stack', got ${show(o.pairRule)}`);
  if (o.workers !== undefined && (typeof o.workers !== 'number' || !Number.isInteger(o.workers) || o.workers < 0 || o.workers > 64))
    throw badInput(`workers: expected an integer 0-64, got ${show(o.workers)}`);
  return o as PlanOptions;
}

/**
 * After selection: an id given without its creator id must name one state. Under pfsync two
 * creators can hand out the same id; guessing which one is meant would be a wrong kill.
 */
export function checkSelectedIds(v: ValidSelections, snap: Snapshot, sel: { indices: Int32Array; masks: Uint32Array }): void {
  if (snap.layout === 'ct') return; // CTA_ID is unique per table
  const stride = snap.layout === 'pf-1301' ? 242 : 384;
  const idOff = snap.layout === 'pf-1301' ? 0 : 8;
  const crOff = snap.layout === 'pf-1301' ? 228 : 256;
  const dv = new DataView(snap.bytes.buffer, snap.bytes.byteOffset, snap.bytes.byteLength);
  v.compiled.forEach((c, si) => {
    if (!c.ids || !c.ids.anyCreator.includes(1)) return;
    const loose = new Set<bigint>();
    c.ids.id.forEach((id, k) => { if (c.ids!.anyCreator[k]) loose.add(id); });
    const seen = new Map<bigint, number>();
    for (let k = 0; k < sel.indices.length; k++) {
      if (!(sel.masks[k] & (1 << si))) continue;
      const at = sel.indices[k] * stride;
      const id = dv.getBigUint64(at + idOff, false);
      if (!loose.has(id)) continue;
      const creator = dv.getUint32(at + crOff, true);
      const prev = seen.get(id);
      if (prev !== undefined && prev !== creator) {
        const hex = (x: number) => x.toString(16).padStart(8, '0');
        throw badInput(`${v.target.cli ? '--id' : `selection ${si + 1} ids`}: id ${id.toString(16).padStart(16, '0')} belongs to states of ` +
          `creators ${hex(prev)} and ${hex(creator)} (pfsync); give ID/CREATORID`);
      }
      seen.set(id, creator);
    }
  });
}

/**
 * One selection validated and compiled (helpers and tests). Without a backend, it is conntrack
 * when the selection has a conntrack-only criterion, else pf.
 */
export function compileSelection(s: Selection, index = 0, backend?: unknown): CompiledSelection {
  const ct = ['mark', 'zone', 'replyDst'].some((k) => (s as Record<string, unknown>)[k] !== undefined);
  const kind: BackendKind = backend === 'pf' || backend === 'conntrack' ? backend : ct ? 'conntrack' : 'pf';
  try {
    return validateSelections([s], { backend: kind }).compiled[0];
  } catch (e) {
    if (index === 0 || !(e instanceof Error)) throw e;
    throw badInput(e.message.replace(/^selection 1/, `selection ${index + 1}`));
  }
}
