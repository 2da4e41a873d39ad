/** Building simulated pf kernels from files, records or the generator. Always explicit. */
import { badInput } from '../errors.js';
import { native } from '../native/index.js';
import { StatekillError } from '../errors.js';
import { loadTableFile, type LoadedTable, type TableFormat } from '../table/file.js';
import type { SimKernelHandle, SimKernelOptions } from '../native/types-sim.js';

/**
 * Defects of real pf kernels the simulated one can reproduce (README, "simulated kernel"):
 * - `af-into-proto`: GETSTATES parses PF_ST_AF into the proto filter (a late-2023 pf_nl.c).
 * - `dump-drops`: every other state is left out of every state dump while the status counter
 *   still counts it (a kernel whose status disagrees with its dump).
 */
export const SIM_QUIRKS = ['af-into-proto', 'dump-drops'] as const;
export type SimQuirk = (typeof SIM_QUIRKS)[number];

/**
 * `--sim-version` values: 14.0 is 14.0-RELEASE (family lists 1-4, no GETSTATES filters, no psk_nat);
 * 15-compat14 is a 15 kernel built with COMPAT_FREEBSD14 (DIOCGETSTATES/V2 still answer).
 */
export const SIM_VERSIONS = ['12', '13', '14.0', '14', '15', '15-compat14'] as const;

export interface SimSource extends SimKernelOptions {
  /** A JSON Lines table or a raw record dump of either ABI. */
  file?: string;
  format?: TableFormat;
  /** pf_state_export (384) or pfsync_state (242) records. */
  records?: { bytes: Uint8Array; stride: 384 | 242; ruleLabels?: Map<number, string[]> };
  /** Generated table (see the README's topology). */
  generate?: { states: number; seed?: number; profile?: 'realistic' | 'bench' };
  /** Named quirks (merged into `quirks`). */
  quirkNames?: SimQuirk[];
}

/** A `--sim-version` string and `--sim-quirk` names as kernel options; bad values are E_BAD_INPUT. */
export function simPersonality(version: string, quirks: string[] = []): Pick<SimSource, 'version' | 'minor' | 'compat14' | 'quirkNames'> {
  if (!(SIM_VERSIONS as readonly string[]).includes(version))
    throw badInput(`--sim-version: expected one of ${SIM_VERSIONS.join(', ')}, got '${version}'`);
  for (const q of quirks)
    if (!(SIM_QUIRKS as readonly string[]).includes(q)) throw badInput(`--sim-quirk: expected one of ${SIM_QUIRKS.join(', ')}, got '${q}'`);
  return {
    version: Number.parseInt(version, 10) as 12 | 13 | 14 | 15,
    ...(version === '14.0' ? { minor: 0 as const } : {}),
    ...(version === '15-compat14' ? { compat14: true } : {}),
    quirkNames: quirks as SimQuirk[],
  };
}

export function createSimKernel(src: SimSource = {}): SimKernelHandle {
  const quirks = { ...src.quirks };
  if (src.quirkNames?.includes('af-into-proto')) quirks.afIntoProto = true;
  if (src.quirkNames?.includes('dump-drops')) quirks.dumpDropEvery = 2;
  const sim = new native.SimKernel({
    version: src.version, minor: src.minor, compat14: src.compat14, hostid: src.hostid, abiFault: src.abiFault, quirks,
  });
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
