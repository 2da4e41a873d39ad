/** Native surface of the simulated pf kernel (native/pf/sim/). */
export interface SimKernelOptions {
  /** FreeBSD personality: which ioctls exist and which kill semantics apply (default 14). */
  version?: 12 | 13 | 14 | 15;
  /** 15 only: built with COMPAT_FREEBSD14, so DIOCGETSTATES/V2 still answer. */
  compat14?: boolean;
  hostid?: number;
  /** Test-only fault injection: sizes or a record version statekill does not know. */
  abiFault?: { probeSkew?: number; exportVersion?: number };
}

export interface SimKernelHandle {
  load(records: Uint8Array, stride: 384 | 242): number;
  generate(spec: { states: number; seed?: number; profile?: 'realistic' | 'bench' }): number;
  count(): number;
  setRuleLabels(rule: number, labels: string[]): void;
  growBeforeNextFetch(n: number): void;
  ioctlCount(): number;
  describe(): { name: string; version: number; compat14: boolean; hostid: number; states: number };
}

export interface SimNative {
  SimKernel: new (opts?: SimKernelOptions) => SimKernelHandle;
}
