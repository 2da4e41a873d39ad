/** Native surface of the engine kernels (native/engine/). */
import type { CompiledSelection } from '../engine/compile.js';

export interface EngineNative {
  pfSelect(records: Uint8Array, stride: number, from: number, to: number, selections: CompiledSelection[],
    outIdx: Int32Array, outMask: Uint32Array): number;
  /** offDirection (default true): probe for pf's either-direction lookup; false leaves kernelOffDirectionMask all ones. */
  pfPair(records: Uint8Array, stride: number, count: number, selected: Int32Array, masks: Uint32Array, alsoStackKey: boolean, offDirection?: boolean): PairNative;
  pfGatherIds(records: Uint8Array, stride: number, indices: Int32Array, outIds: BigUint64Array, outCreators: Uint32Array): void;
}

/** Records by index with the ids the kernel exported for them. */
export interface IdListNative {
  indices: Int32Array;
  ids: BigUint64Array;
  creatorids: Uint32Array;
}

/** pfPair's answer (native/engine/pair.h documents each part). */
export interface PairNative {
  selectedIds: BigUint64Array;
  selectedCreatorids: Uint32Array;
  /** Partners, each once, never a selected state. */
  paired: IdListNative;
  /** Candidates of non-unique partners: not selected, not paired, each once. */
  ambiguous: IdListNative;
  ambiguousSelected: number;
  /** pf's own rule: per selected / paired entry, the selections whose states' unique partner it is. */
  selectedKernelMask: Uint32Array;
  pairedKernelMask: Uint32Array;
  /** pf's own rule: every candidate of a non-unique match, with the selections that wanted it. */
  kernelAmbiguous: Int32Array;
  kernelAmbiguousMask: Uint32Array;
  /**
   * The selections (bit i = selection i) of selected states whose pf-rule key a state of their own
   * direction has too: pf_find_state_all checks no direction, so there the kernel's kill_match
   * finds that state as well (it kills it, or spares the real partner). All ones when not probed.
   */
  kernelOffDirectionMask: number;
}
