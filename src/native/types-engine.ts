/** Native surface of the engine kernels (native/engine/). */
import type { CompiledSelection } from '../engine/compile.js';

export interface EngineNative {
  pfSelect(records: Uint8Array, stride: number, from: number, to: number, selections: CompiledSelection[],
    outIdx: Int32Array, outMask: Uint32Array): number;
  pfPair(records: Uint8Array, stride: number, count: number, selected: Int32Array, outPartner: Int32Array, alsoStackKey?: boolean): Int32Array;
  pfGatherIds(records: Uint8Array, stride: number, indices: Int32Array, outIds: BigUint64Array, outCreators: Uint32Array): void;
}
