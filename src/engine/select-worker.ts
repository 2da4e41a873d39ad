/** piscina worker: runs the native select kernel over one chunk of a shared snapshot. */
import { native } from '../native/index.js';
import type { CompiledSelection } from './compile.js';
import type { RecordLayout } from './types.js';

export interface SelectTask {
  bytes: Uint8Array; // view over the snapshot's SharedArrayBuffer: shared, not copied
  layout: RecordLayout;
  from: number;
  to: number;
  specs: CompiledSelection[];
}

export interface SelectResult {
  idx: Int32Array;
  mask: Uint32Array;
}

export function selectChunk(t: SelectTask): SelectResult {
  const len = t.to - t.from;
  const idx = new Int32Array(len);
  const mask = new Uint32Array(len);
  const n = t.layout === 'ct'
    ? native.ctSelect(t.bytes, t.from, t.to, t.specs, idx, mask)
    : native.pfSelect(t.bytes, t.layout === 'pf-1301' ? 242 : 384, t.from, t.to, t.specs, idx, mask);
  // Copies of the matches only: small next to the chunk, and transferable back.
  return { idx: idx.slice(0, n), mask: mask.slice(0, n) };
}

export default selectChunk;
