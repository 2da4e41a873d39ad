/** Native surface of the nvlist module: libnv-compatible codec and pf's NV request/reply shapes. */

/** A node of the content notation of shared/nvlist-vectors/vectors.json. */
export type NvNode =
  | { type: 'null' }
  | { type: 'bool'; value: boolean }
  | { type: 'number'; value: string }
  | { type: 'string'; value: string }
  | { type: 'binary'; value: string }
  | NvListNode
  | { type: 'bool_array'; value: boolean[] }
  | { type: 'number_array'; value: string[] }
  | { type: 'string_array'; value: string[] }
  | { type: 'nvlist_array'; value: NvPairs[] };

export type NvPairs = [string, NvNode][];

/** An nvlist: ordered pairs; `flags` (0x01 IGNORE_CASE, 0x02 NO_UNIQUE) only when non-zero. */
export interface NvListNode {
  type: 'nvlist';
  value: NvPairs;
  flags?: number;
}

export interface NvPackOptions {
  /** Write what a big-endian host writes (flag 0x80, every integer big-endian). */
  bigEndian?: boolean;
  /** The pre-FreeBSD-14 datasize of nested nvlist pairs (*.fbsd13 vectors). */
  legacyNestedSize?: boolean;
  /** Top-level public flags. */
  flags?: number;
}

export interface NvUnpackOptions {
  /** nvlist_unpack()'s flags argument: must equal the top-level header's public flags (pf: 0). */
  flags?: number;
  /** Also byte-swap nitems of foreign-endian pairs (libnv does not, so such arrays fail). */
  swapForeignNitems?: boolean;
}

/** struct pf_rule_addr as the kernel holds it after parsing. */
export interface NvRuleAddr {
  type: number;
  iflags: number;
  /** 16 bytes, hex (pf_addr, network order). */
  addr: string;
  mask: string;
  /** The two port_op operands as raw network-order u16s. */
  port: [number, number];
  neg: number;
  port_op: number;
  /** Input only: written into the addr union as pf_addr_wrap does (type 2 / type 3). */
  ifname?: string;
  tblname?: string;
}

/** pf::KillFilter (the kernel's pf_kstate_kill). */
export interface NvKillFilter {
  /** The raw u64 id as 16 hex digits. */
  id: string;
  creatorid: number;
  direction: number;
  af: number;
  proto: number;
  src: NvRuleAddr;
  dst: NvRuleAddr;
  rt_addr: NvRuleAddr;
  ifname: string;
  label: string;
  kill_match: boolean;
  nat: boolean;
}

export type NvKillFilterInput = Partial<Omit<NvKillFilter, 'src' | 'dst' | 'rt_addr'>> & {
  src?: Partial<NvRuleAddr>;
  dst?: Partial<NvRuleAddr>;
  rt_addr?: Partial<NvRuleAddr>;
};

export type NvKillParseResult =
  | { ok: true; errno: 0; filter: NvKillFilter }
  /** stage 'unpack': nvlist_unpack failed (the ioctl says EBADMSG; libnv's errno in unpackErrno). */
  | { ok: false; errno: number; stage: 'unpack'; unpackErrno: number; message: string }
  /** stage 'parse': pf_nvstate_kill_to_kstate_kill's errno (EINVAL, ERANGE or E2BIG). */
  | { ok: false; errno: number; stage: 'parse'; message: string };

export interface NvStatusCounters {
  values: string[];
  names: string[];
}

/** The DIOCGETSTATUSNV reply (u64 values as decimal strings). */
export interface NvStatus {
  running: boolean;
  since: string;
  debug: number;
  hostid: number;
  states: number;
  src_nodes: number;
  /** Whether reass / syncookies_active are present (14+ kernels). */
  has_reass: boolean;
  reass: number;
  syncookies_active: boolean;
  counters: NvStatusCounters;
  lcounters: NvStatusCounters;
  fcounters: NvStatusCounters;
  scounters: NvStatusCounters;
  ifname: string;
  /** 16 bytes, hex. */
  chksum: string;
  pcounters: string[];
  bcounters: string[];
}

export interface NvlistNative {
  /** nvlist_pack() of the content. Throws EINVAL for malformed content or what libnv refuses. */
  nvPack(content: NvListNode, opts?: NvPackOptions): Uint8Array;
  /** nvlist_unpack(); throws StatekillError with libnv's errno (EINVAL, EILSEQ, EEXIST, ENOMEM). */
  nvUnpack(bytes: Uint8Array, opts?: NvUnpackOptions): NvListNode;
  /** The kernel's parse of a DIOCKILLSTATESNV / DIOCCLRSTATESNV request (bytes or content). */
  nvKillRequestFromContent(request: Uint8Array | NvListNode): NvKillParseResult;
  /** libpfctl's request for a filter; `alwaysIncludeNat` adds "nat" even when false. */
  nvBuildKillRequest(filter: NvKillFilterInput, opts?: NvPackOptions & { alwaysIncludeNat?: boolean }): Uint8Array;
  nvBuildKilledReply(killed: number, opts?: NvPackOptions): Uint8Array;
  nvParseKilledReply(bytes: Uint8Array): number;
  /** Unset fields default to nvDefaultStatus(). */
  nvBuildStatusReply(status: Partial<NvStatus>, opts?: NvPackOptions): Uint8Array;
  nvParseStatusReply(bytes: Uint8Array): NvStatus;
  /** Zero counters with the 14.x kernel's counter names. */
  nvDefaultStatus(): NvStatus;
}
