/** Native surface of the pf netlink module (native/pf/netlink/, simulated side in native/pf/sim/netlink_*). */
import type { PfKillFilterArg, PfStatus } from './types-pf.js';
import type { SimKernelHandle } from './types-sim.js';

/** GETSTATES kernel-side filters (FreeBSD 14.x with D42280). Omitted = no filter. */
export interface PfNetlinkReadFilter {
  /** The state's interface as the kernel holds it ("all" for floating states). */
  ifname?: string;
  af?: 0 | 2 | 28;
  proto?: number;
  /** 16 bytes, network order: keeps states with any key address (wire/stack, either end) inside addr/mask. */
  addr?: Uint8Array;
  /** 16 bytes; defaults to all-ones when only addr is given. */
  mask?: Uint8Array;
  /**
   * Diagnostics only (doctor): send `af` without the PF_ST_PROTO statekill always puts after it,
   * to detect a kernel that parses PF_ST_AF into the proto filter. Never for a kill's read.
   */
  afAlone?: boolean;
}

export interface PfNetlinkDescription {
  target: string;
  familyId: number;
  familyVersion: number;
  /** Command ids the kernel's pfctl family lists (CTRL_ATTR_OPS). */
  ops: number[];
  /** Which pf_nl command each job uses, or 'none' when the kernel does not list it. */
  paths: { read: string; killById: string; killByFilter: string; flush: string; status: string; rules: string };
  recordSize: 384;
  stateVersion: number;
}

export interface PfNetlinkHandle {
  describe(): PfNetlinkDescription;
  /** Begins a fresh GETSTATES dump (abandoning an unfinished one). */
  startRead(filter?: PfNetlinkReadFilter): void;
  /**
   * Parses as many whole 384-byte pf_state_export records into `view` as fit, reading socket data
   * only as needed. `done` = NLMSG_DONE seen. Starts an unfiltered dump when none is running.
   * On a malformed message it throws EBADMSG naming the attribute, and the dump is abandoned.
   */
  readChunk(view: Uint8Array): { records: number; done: boolean };
  /** KILLSTATES by (id, raw creatorid), `batch` messages per write (default 256). out: 0 killed, 1 gone, <0 -errno. */
  killByIds(ids: BigUint64Array, creators: Uint32Array, out: Int32Array, batch?: number): { killed: number; alreadyGone: number; failed: number };
  /** KILLSTATES with a filter; returns PF_CS_KILLED. Refuses a match-everything filter (E_UNSAFE_FILTER). */
  killByFilter(filter: PfKillFilterArg): number;
  /** CLRSTATES (pfctl -F states [-i ifname]); returns PF_CS_KILLED. */
  flush(ifname?: string, killMatch?: boolean): number;
  /** GET_STATUS (15-era families): the state counter. ENOTSUP where the family lists none. */
  status(): PfStatus;
  /** GETRULES + GETRULE: labels of the main ruleset's filter rules, index = rule number. */
  ruleLabels(): string[][];
  close(): void;
}

/** The kernel's parse of a KILLSTATES/CLRSTATES request (test hook). */
export type PfNlParsedKill =
  | { errno: number }
  | {
      errno: 0;
      id: bigint;
      creatorid: number;
      direction: number;
      af: number;
      proto: number;
      src: PfNlParsedRuleAddr;
      dst: PfNlParsedRuleAddr;
      rtAddr: PfNlParsedRuleAddr;
      ifname: string;
      label: string;
      killMatch: boolean;
      nat: boolean;
    };

export interface PfNlParsedRuleAddr {
  addr: Uint8Array;
  mask: Uint8Array;
  neg: boolean;
  portOp: number;
  /** host order */
  ports: [number, number];
  type: number;
}

/** Simulated-kernel options. */
export interface PfNetlinkSimOptions {
  /** The commands the simulated family lists (default: the personality's, e.g. [1, 2, 3, 4] = an early 14.0). */
  ops?: number[];
  /** Fault injection for tests: the n-th (0-based) state message of every dump carries a 3-byte PF_ST_RULE. */
  corruptState?: number;
}

export interface NetlinkNative {
  /** `new PfNetlink()` = the real kernel (FreeBSD 14+; ENOTSUP elsewhere); `new PfNetlink(sim, { ops })` = a simulated one. ENOENT when the kernel has no pfctl family. */
  PfNetlink: new (sim?: SimKernelHandle, opts?: PfNetlinkSimOptions) => PfNetlinkHandle;
  /** The simulated kernel's GETSTATES message for one 384-byte record (test hook). */
  pfNlEncodeState(record: Uint8Array, major?: 14 | 15): Uint8Array;
  /** statekill's decode of one state message into a 384-byte record (test hook). */
  pfNlDecodeState(message: Uint8Array): Uint8Array;
  /** statekill's KILLSTATES (9) / CLRSTATES (8) request for a filter (test hook). */
  pfNlBuildKill(filter: PfKillFilterArg, cmd?: 8 | 9): Uint8Array;
  /** The simulated kernel's parse of such a request (test hook). */
  pfNlParseKill(request: Uint8Array): PfNlParsedKill;
}
