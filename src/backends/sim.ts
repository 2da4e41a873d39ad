/** Building simulated pf kernels from files, records or the generator. Always explicit. */
import { native } from '../native/index.js';
import { StatekillError } from '../errors.js';
import { loadTableFile, type LoadedTable, type TableFormat } from '../table/file.js';
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
  if (src.file) loadIntoSim(sim, loadTableFile(src.file, src.format));
  if (src.records) put(src.records.bytes, src.records.stride, src.records.ruleLabels);
  if (src.generate) sim.generate(src.generate);
  return sim;
}

/**
 * Loads a table file's records into a simulated kernel. The kernel's refusals name a record by its
 * index ("record 3: duplicate state"); they are re-worded with the file and its line or record.
 */
export function loadIntoSim(sim: SimKernelHandle, t: LoadedTable): void {
  try {
    sim.load(t.records, t.stride);
  } catch (e) {
    const m = e instanceof StatekillError ? /^record (\d+): (.*)$/s.exec(e.message) : null;
    if (!m) throw e;
    throw new StatekillError(`${t.where(Number(m[1]))}: ${m[2]}`, e instanceof StatekillError ? e.errno : 0, 'E_BAD_INPUT');
  }
  for (const [rule, l] of t.ruleLabels) sim.setRuleLabels(rule, l);
}
