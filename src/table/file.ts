/**
 * State table files: JSON Lines (by extension .jsonl/.json/.ndjson, or content starting with '{')
 * or raw record dumps of either ABI (pf_state_export 384 B, pfsync_state 242 B), told apart by
 * size and the export records' version field. Truncated dumps are rejected, nothing is loaded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { StatekillError, badInput } from '../errors.js';
import { native } from '../native/index.js';
import { parseJsonl, jsonLines } from './jsonl.js';
import { PF_STATE_VERSION_13, PF_STATE_VERSION_14 } from './records.js';
import type { RecordLayout } from '../engine/types.js';

export type TableFormat = 'jsonl' | 'pf-export' | 'pf-1301';

export interface LoadedTable {
  records: Uint8Array;
  stride: 384 | 242;
  count: number;
  ruleLabels: Map<number, string[]>;
  format: TableFormat;
}

function readOrFail(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new StatekillError(`cannot read table file ${path}: ${err.code ?? err.message}`, 2, 'E_BAD_INPUT');
  }
}

export function detectFormat(path: string, data: Uint8Array): TableFormat {
  if (/\.(jsonl|ndjson|json)$/i.test(path)) return 'jsonl';
  const first = data.find((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09);
  if (first === 0x7b /* { */ || first === 0x23 /* # */ || data.length === 0) return 'jsonl';
  if (data.length % 384 === 0) {
    const v = new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true);
    if (v === PF_STATE_VERSION_13 || v === PF_STATE_VERSION_14) return 'pf-export';
  }
  if (data.length % 242 === 0) return 'pf-1301';
  throw badInput(`${path}: ${data.length} bytes is neither JSON Lines nor a whole number of 384-byte pf_state_export ` +
    'or 242-byte pfsync_state records (truncated dump?)');
}

export function loadTableFile(path: string, format?: TableFormat): LoadedTable {
  const data = readOrFail(path);
  const fmt = format ?? detectFormat(path, data);
  if (fmt === 'jsonl') {
    const t = parseJsonl(data.toString('utf8'), path);
    return { records: t.records, stride: 384, count: t.count, ruleLabels: t.ruleLabels, format: fmt };
  }
  const stride = fmt === 'pf-export' ? 384 : 242;
  if (data.length % stride !== 0)
    throw badInput(`${path}: ${data.length} bytes is not a whole number of ${stride}-byte records (truncated dump?)`);
  return { records: new Uint8Array(data.buffer, data.byteOffset, data.length), stride, count: data.length / stride, ruleLabels: new Map(), format: fmt };
}

/** Re-encode records in the other ABI by passing them through a simulated kernel of that era. */
export function convertRecords(records: Uint8Array, from: 384 | 242, to: 384 | 242): Uint8Array {
  if (from === to) return records;
  const sim = new native.SimKernel({ version: to === 384 ? 14 : 12 });
  sim.load(records, from);
  const dev = new native.PfDevice(sim);
  const out = new Uint8Array(sim.count() * to + 64 * to);
  const r = dev.read(out);
  dev.close();
  return out.subarray(0, r.bytes);
}

export function saveTableFile(path: string, records: Uint8Array, count: number, layout: RecordLayout, format: TableFormat): void {
  if (format === 'jsonl') {
    const lines: string[] = [];
    for (const l of jsonLines(records, count, layout)) lines.push(l);
    writeFileSync(path, lines.length ? `${lines.join('\n')}\n` : '');
    return;
  }
  const from = layout === 'pf-1301' ? 242 : 384;
  const to = format === 'pf-1301' ? 242 : 384;
  writeFileSync(path, convertRecords(records.subarray(0, count * from), from, to));
}
