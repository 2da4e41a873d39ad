/** Native surface of the pf device layer (native/pf/device*.cc). */
import type { SimKernelHandle } from './types-sim.js';

export interface PfRuleAddrArg {
  addr?: Uint8Array; // 16 bytes, network order
  mask?: Uint8Array; // 16 bytes
  neg?: boolean;
  portOp?: number; // PF_OP_*
  ports?: [number, number]; // host order; the kernel's port[0]/port[1] operands
}

/** pf's kill/clear request in JS form (FreeBSD's pf_kstate_kill). */
export interface PfKillFilterArg {
  id?: bigint;
  creatorid?: number;
  af?: 0 | 2 | 28;
  proto?: number;
  src?: PfRuleAddrArg;
  dst?: PfRuleAddrArg;
  rtAddr?: PfRuleAddrArg;
  ifname?: string;
  label?: string;
  killMatch?: boolean;
  nat?: boolean;
}

export interface PfDeviceDescription {
  target: string;
  read: 'DIOCGETSTATESV2' | 'DIOCGETSTATES' | 'none';
  /** Filter kills and flush. */
  kill: 'DIOCKILLSTATESNV' | 'DIOCKILLSTATES' | 'none';
  killById: 'DIOCKILLSTATESNV' | 'DIOCKILLSTATES' | 'none';
  recordSize: 384 | 242;
  stateVersion: number;
  hasRouteInfo: boolean;
  /** DIOCGETSTATES (242-byte records) answers beside DIOCGETSTATESV2: read(into, true) uses it. */
  compactRead: boolean;
  /** Where the state counter comes from. */
  status: 'DIOCGETSTATUSNV' | 'DIOCGETSTATUS' | 'none';
  /** How rule labels were last read ('none' until ruleLabels() ran). */
  rules: 'DIOCGETRULENV' | 'DIOCGETRULE' | 'none';
}

/** The kernel's state counter (pf_status.states) and host id. */
export interface PfStatus {
  states: number;
  hostid: number;
  /** Which interface answered, e.g. 'DIOCGETSTATUSNV', 'netlink GET_STATUS'. */
  source: string;
}

export interface PfDeviceHandle {
  describe(): PfDeviceDescription;
  probeBytes(compact?: boolean): number;
  read(into: Uint8Array, compact?: boolean): { bytes: number; truncated: boolean; needed: number; recordSize: 384 | 242; hasRouteInfo: boolean };
  killByIds(ids: BigUint64Array, creators: Uint32Array, out: Int32Array): { killed: number; alreadyGone: number; failed: number };
  flush(ifname?: string, killMatch?: boolean): number;
  killByFilter(filter: PfKillFilterArg): number;
  stateCount(): number;
  status(): PfStatus;
  /** Labels of the main ruleset's filter rules: index = rule number. */
  ruleLabels(): string[][];
  close(): void;
}

export interface PfNative {
  PfDevice: new (target: string | SimKernelHandle) => PfDeviceHandle;
}
