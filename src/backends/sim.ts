/** Building simulated pf kernels from files, records or the generator. Always explicit. */
import { native } from '../native/index.js';
import { loadTableFile, type TableFormat } from '../table/file.js';
import type { SimKernelHandle, SimKernelOptions } from '../native/types-sim.js';

export interface SimSource extends SimKernelOptions {
  /** A JSON Lines table or a raw record dump of either ABI. */
  file?: string;
  format?: TableFormat;
  /** pf_state_export (384) or pfsync_state (242) records. */
  records?: { bytes: Uint8Array; stride: 384 | 242; ruleLabels?: Map<number, string[]> };
  /** Generated table (see the README's topology). */
  generate?: { states: number; seed?: number; profile?: 'realistic' | 'bench' };
}

export function createSimKernel(src: SimSource = {}): SimKernelHandle {
  const sim = new native.SimKernel({ version: src.version, compat14: src.compat14, hostid: src.hostid, abiFault: src.abiFault });
  const put = (bytes: Uint8Array, stride: 384 | 242, labels?: Map<number, string[]>) => {
    sim.load(bytes, stride);
    for (const [rule, l] of labels ?? []) sim.setRuleLabels(rule, l);
  };
  if (src.file) {
    const t = loadTableFile(src.file, src.format);
    put(t.records, t.stride, t.ruleLabels);
  }
  if (src.records) put(src.records.bytes, src.records.stride, src.records.ruleLabels);
  if (src.generate) sim.generate(src.generate);
  return sim;
}
