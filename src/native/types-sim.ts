/** Native surface of the simulated pf kernel (native/pf/sim/). */
export interface SimKernelOptions {
  /** FreeBSD personality: which ioctls exist and which kill semantics apply (default 14). */
  version?: 12 | 13 | 14 | 15;
  /** 14 only: 0 = 14.0-RELEASE (pfctl family lists 1-4, no GETSTATES filters, no psk_nat). */
  minor?: 0;
  /** 15 only: built with COMPAT_FREEBSD14, so DIOCGETSTATES/V2 still answer. */
  compat14?: boolean;
  /** Defects of real kernels the model can reproduce (README, simulated kernel). */
  quirks?: {
    /** GETSTATES parses PF_ST_AF into the proto filter (a late-2023 pf_nl.c). */
    afIntoProto?: boolean;
    /** Every n-th state is left out of every dump while the status counter still counts it. */
    dumpDropEvery?: number;
  };
  hostid?: number;
  /** Test-only fault injection: sizes or a record version statekill does not know. */
  abiFault?: { probeSkew?: number; exportVersion?: number };
}

export interface SimKernelHandle {
  load(records: Uint8Array, stride: 384 | 242): number;
  generate(spec: { states: number; seed?: number; profile?: 'realistic' | 'bench' }): number;
  count(): number;
  setRuleLabels(rule: number, labels: string[]): void;
  /** Churn at the start of the next state read: `add` new states, `remove` the oldest ones. */
  growBeforeNextFetch(add: number, remove?: number): void;
  ioctlCount(): number;
  describe(): {
    name: string; version: number; minor?: number; compat14: boolean; hostid: number; states: number;
    quirks: { afIntoProto: boolean; dumpDropEvery: number };
  };
}

export interface SimNative {
  SimKernel: new (opts?: SimKernelOptions) => SimKernelHandle;
}
