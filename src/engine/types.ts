/**
 * The engine's contracts: what a backend gives (a snapshot of fixed-size records in a
 * SharedArrayBuffer) and takes (record indices to kill), what a caller asks (selections) and gets
 * (a plan, then a report). Kernel-specific code lives behind Backend; policy lives above Selection.
 */

/** Record layouts in a snapshot. pf layouts are the kernel's own bytes, unchanged. */
export type RecordLayout = 'pf-export' | 'pf-1301' | 'ct';

export const LAYOUT_STRIDE: Record<RecordLayout, number> = {
  'pf-export': 384, // struct pf_state_export (DIOCGETSTATESV2; netlink states are parsed into it)
  'pf-1301': 242, //   struct pfsync_state_1301 (DIOCGETSTATES)
  ct: 128, //          statekill's conntrack record (src/backends/conntrack.ts documents it)
};

export interface Snapshot {
  /** View over a SharedArrayBuffer holding `count` records of `layout`. */
  readonly bytes: Uint8Array;
  readonly count: number;
  readonly layout: RecordLayout;
  /** pf: whether the layout carries rt/rt_ifname (14.x export records). */
  readonly hasRouteInfo: boolean;
  /**
   * pf netlink: the kernel was asked to leave states out (a GETSTATES filter). Such a read cannot be
   * judged by the state counter; the preflight verifies it by an unfiltered count (preflight.ts).
   */
  readonly kernelFiltered?: boolean;
}

/** A network prefix: `addr` in text form, `prefix` bits; `ifname` scopes an IPv6 link-local gateway. */
export interface Cidr {
  af: 'inet' | 'inet6';
  addr: string;
  prefix: number;
  ifname?: string;
}

export type Af = 'inet' | 'inet6';

/** One value, or a non-empty list whose entries OR together. */
export type OneOrMore<T> = T | T[];

/**
 * A state by id. pf: `id` is the state id as `pfctl -ss -vv` and statekill print it (the raw id
 * bytes read as a big-endian number), `creatorid` the 32-bit creator id as statekill lists it;
 * without one, any creator (refused where two creators share the id). conntrack: `id` is CTA_ID.
 */
export interface StateId {
  id: bigint;
  creatorid?: number;
}

/**
 * What to select. Fields AND together; the entries of a list OR. Every field is validated at the
 * library boundary (src/engine/validate.ts): an empty, mistyped, out-of-range or inapplicable value
 * is E_BAD_INPUT, never "absent". Ports match when equal (pf's PF_OP_EQ).
 */
export interface Selection {
  /** Label shown in plans and reports ("gateway WAN_DHCP"). */
  name?: string;
  /** pf: route-to/reply-to/dup-to next hop (`rt_addr`) inside any of these prefixes. */
  gateways?: Cidr[];
  /** pf: outbound states leaving with this source address on the wire (NAT or firewall-originated). */
  natAddrs?: Cidr[];
  /**
   * pf: only states with no route-to/reply-to next hop (`rt_addr` all zero: routed by the routing
   * table). `true` is the only value; anything else is E_BAD_INPUT. The failover policy pairs it
   * with `natAddrs`, so a WAN's NAT address reaches default-routed states and never states routed
   * to another, live gateway (two gateways on one WAN). ct: not applicable.
   */
  defaultRouted?: true;
  /** pf: the state's interface (the original one for floating states). */
  interfaces?: string[];
  /** pf: route-to interface (`rt_ifname`, 14.x records). */
  rtInterfaces?: string[];
  af?: OneOrMore<Af>;
  /** IP protocol number. */
  proto?: OneOrMore<number>;
  /** Source/destination as seen in the state's direction (pf: wire key, as pf's own kill filter). */
  src?: OneOrMore<Cidr>;
  dst?: OneOrMore<Cidr>;
  srcPort?: OneOrMore<number>;
  dstPort?: OneOrMore<number>;
  /** pf: rule number that created the state (0..4294967294; 0xffffffff is pf's "no rule"). */
  rules?: number[];
  /**
   * pf: created by a rule of the main ruleset carrying any of these labels (pfctl -k label: any of
   * the rule's up to 5 labels, exact string). States created inside anchors never match. pfSense
   * labels its policy-routing rules `gw=<tier>:<group>` (util.inc make_rule_label_string). ct: n/a.
   */
  labels?: string[];
  /** States by id (pf: id + creator id, like `pfctl -k id`; conntrack: CTA_ID). */
  ids?: StateId[];
  /** ct: (mark & mask) == value; value has no bits outside mask, mask is not 0. */
  mark?: { value: number; mask: number };
  /** ct: conntrack zone. */
  zone?: number;
  /** ct: destination of the reply tuple (the masquerade address of a WAN). */
  replyDst?: Cidr;
}

export interface PlanOptions {
  /** Find and kill each selected state's opposite-direction partner (pf; default true). */
  pair?: boolean;
  /**
   * Pairing rule. 'kernel': exactly pf's kill_match (stack key of outbound states, wire key of
   * inbound ones). 'kernel+stack' (default): where that finds nothing, also try the other key, as
   * pf does with `nat`: this pairs port-forwards, whose inbound wire key never matches the inside.
   */
  pairRule?: 'kernel' | 'kernel+stack';
  /** Kill states whose partner is not unique anyway (default false: reported, not killed). */
  killAmbiguous?: boolean;
  /**
   * pf: read the kernel's full 384-byte export records even where the selections need only the
   * 242-byte ones (which plan() reads where the kernel has both). For callers that print records.
   */
  fullRecords?: boolean;
  /**
   * Worker threads for selection; 0 = inline. Default: inline below 4M records, else cores (at most
   * 4). Any count gives the identical plan.
   */
  workers?: number;
  /**
   * Accept prefixes that are usually typos or accidents: /0 (every address of the family) and host
   * bits set below the prefix length (198.51.100.1/24). Default false: refused with E_BAD_INPUT.
   */
  force?: boolean;
  signal?: AbortSignal;
}

export type KillReason = 'selected' | 'paired' | 'ambiguous';

/** The exact kill list. Typed arrays, not per-state objects; `listStates()` renders them on demand. */
export interface Plan {
  readonly layout: RecordLayout;
  readonly selections: Selection[];
  readonly scanned: number;
  /** Snapshot indices to kill (selected, then paired partners), and the same order's reasons. */
  readonly indices: Int32Array;
  /** 0 selected, 1 paired, 2 ambiguous candidate (only with killAmbiguous) */
  readonly reasons: Uint8Array;
  /** pf: each state's (id, creatorid) exactly as the kernel exported them, in `indices` order. */
  readonly ids?: BigUint64Array;
  readonly creatorids?: Uint32Array;
  /** Bit i set = matched selection i (0 for paired partners). */
  readonly selectionMask: Uint32Array;
  /** Candidate partners of selected states whose partner was not unique (killed only if asked). */
  readonly ambiguous: Int32Array;
  readonly ambiguousIds?: BigUint64Array;
  readonly ambiguousCreatorids?: Uint32Array;
  /** Whether ambiguous candidates are part of `indices` (PlanOptions.killAmbiguous). */
  readonly killAmbiguous: boolean;
  readonly counts: { selected: number; paired: number; ambiguous: number };
  readonly phasesMs: Record<string, number>;
}

export interface ExecuteOptions {
  dryRun?: boolean;
  /**
   * pf: let the kernel's own gateway kill (rt_addr + kill_match, FreeBSD 13.1+) remove the part of
   * the plan it removes exactly, and kill only the rest by id (default true; used only where exact,
   * see src/engine/kill-fast.ts). It also kills states created after the read on that gateway.
   * false: every planned state by (id, creatorid).
   */
  pfFilterKill?: boolean;
  /** States per native kill call (default 16384). */
  batch?: number;
  /**
   * Checked between kill batches. Not during the by-id confirmation of pf's gateway kill (when the
   * kernel's count disagreed with the plan): that runs to its end, so the partial report is exact.
   */
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface Report {
  scanned: number;
  selected: number;
  paired: number;
  ambiguous: number;
  killed: number;
  alreadyGone: number;
  failed: number;
  dryRun: boolean;
  phasesMs: Record<string, number>;
}

export interface KillCounts {
  killed: number;
  alreadyGone: number;
  failed: number;
}

export interface BackendDescription {
  backend: 'pf' | 'sim' | 'conntrack';
  /** e.g. "/dev/pf", "simulated pf (FreeBSD 14 personality)", "ctnetlink" */
  target: string;
  /** Which kernel paths were chosen by probing, e.g. { read: 'DIOCGETSTATESV2', kill: 'DIOCKILLSTATESNV' } */
  paths: Record<string, string>;
  [k: string]: unknown;
}

/**
 * What a read may leave out, because no selection (nor any selection's partner) can be there.
 * Backends that cannot filter in the kernel ignore it. Same shape as pf netlink's GETSTATES filters.
 */
export interface ReadHint {
  /**
   * pf: no selection needs a field only the 384-byte export record has (orig_ifname, rt,
   * rt_ifname): the kernel's 242-byte pfsync_state read may be used (src/engine/compact-read.ts).
   */
  compact?: boolean;
  af?: 2 | 28;
  proto?: number;
  /** 16-byte address and mask: keep states with any key address inside. */
  addr?: Uint8Array;
  mask?: Uint8Array;
}

/**
 * A GETSTATES filter: a read hint, or the raw netlink filter streamSelect takes (af/proto 0 = any,
 * a missing mask = all ones, ifname = the state's interface as the kernel holds it, "all" if floating).
 */
export interface ReadFilterLike {
  af?: number;
  proto?: number;
  addr?: Uint8Array;
  mask?: Uint8Array;
  ifname?: string;
}

/**
 * One kernel interface, no policy. The simulated pf kernel sits behind the same pf backend.
 * `kill` results per entry: 0 killed, 1 already gone, <0 -errno.
 */
export interface Backend {
  describe(): BackendDescription;
  read(hint?: ReadHint): Promise<Snapshot>;
  /**
   * `selections`: the plan's, for backends that re-check an entry before deleting it (conntrack: an
   * entry id can be reused by a re-created entry with another mark); others may ignore them.
   */
  kill(snapshot: Snapshot, indices: Int32Array, out: Int32Array, selections?: Selection[]): void;
  /**
   * Kills by the (id, creatorid) a plan gathered, without reading the snapshot (pf). Preferred
   * over kill() where present: a reused read buffer can then never be read for a kill.
   */
  killIds?(ids: BigUint64Array, creatorids: Uint32Array, out: Int32Array): void;
  /** Everything (pfctl -Fs, conntrack -F). Returns the count removed. */
  flush(): number;
  /**
   * `snapshot`'s buffer may serve the next read (pf), which then overwrites it; StateTable.execute
   * calls this when the plan made from it has run.
   */
  release?(snapshot: Snapshot): void;
  /** True when a later read reused `snapshot`'s buffer (see release). */
  isStale?(snapshot: Snapshot): boolean;
  close(): void;
  /** The kernel's own state counter (pf: pf_status.states), for the read preflight. */
  status?(): { states: number; hostid: number; source: string };
  /**
   * pf netlink: an unfiltered read that keeps nothing: how many states there are, and how many of
   * them `filter` keeps (GETSTATES semantics). Verifies a kernel-filtered read.
   */
  countStates?(filter: ReadFilterLike): Promise<{ total: number; matching: number }>;
  /** pf: labels of the main ruleset's filter rules, by rule number (up to 5 each). */
  ruleLabels?(): Map<number, string[]>;
}
