/**
 * State table files: JSON Lines (by extension .jsonl/.json/.ndjson, or content starting with '{')
 * or raw record dumps of either ABI (pf_state_export 384 B, pfsync_state 242 B), told apart by
 * size and the export records' version field. Truncated dumps are rejected, nothing is loaded.
 */
import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { StatekillError, badInput } from '../errors.js';
import { native } from '../native/index.js';
import { parseJsonlBytes, jsonLines } from './jsonl.js';
import { PF_STATE_VERSION_13, PF_STATE_VERSION_14 } from './records.js';
import type { RecordLayout } from '../engine/types.js';

export type TableFormat = 'jsonl' | 'pf-export' | 'pf-1301';

export interface LoadedTable {
  records: Uint8Array;
  stride: 384 | 242;
  count: number;
  ruleLabels: Map<number, string[]>;
  format: TableFormat;
  /** Where record i came from, for messages: "t.jsonl line 7" or "t.bin record 3 (bytes 768-1151)". */
  where(i: number): string;
}

/**
 * The largest table file read: one Buffer (and one pf state read) holds at most 2 GiB. A raw dump
 * that large is about 5.5M export records; JSON Lines of 5M states fit too.
 */
export const MAX_TABLE_FILE_BYTES = 0x7fffffff;

/**
 * Reads a whole regular file. A FIFO would block forever and /dev/zero never ends (it grew to
 * 19.7 GB once), so anything but a regular file is refused before the first byte, as is a file
 * beyond MAX_TABLE_FILE_BYTES. O_NONBLOCK keeps the open itself from waiting on a FIFO's writer.
 */
function readOrFail(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new StatekillError(`cannot read table file ${path}: ${err.code ?? err.message}`, 2, 'E_BAD_INPUT');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device'
        : st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : 'not a regular file';
      throw badInput(`table file ${path} is ${kind}: a table must be a regular file`);
    }
    if (st.size > MAX_TABLE_FILE_BYTES)
      throw badInput(`table file ${path} is ${st.size} bytes; at most ${MAX_TABLE_FILE_BYTES} (2 GiB) can be loaded`);
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, null);
      if (n === 0) break;
      got += n;
    }
    if (got !== st.size) throw badInput(`table file ${path} changed while it was read (${got} of ${st.size} bytes)`);
    return buf;
  } catch (e) {
    if (e instanceof StatekillError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new StatekillError(`cannot read table file ${path}: ${err.code ?? err.message}`, 2, 'E_BAD_INPUT');
  } finally {
    closeSync(fd);
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
    const t = parseJsonlBytes(data, path);
    return { records: t.records, stride: 384, count: t.count, ruleLabels: t.ruleLabels, format: fmt, where: (i) => `${path} line ${t.lines[i]}` };
  }
  const stride = fmt === 'pf-export' ? 384 : 242;
  if (data.length % stride !== 0)
    throw badInput(`${path}: ${data.length} bytes is not a whole number of ${stride}-byte records (truncated dump?)`);
  return {
    records: new Uint8Array(data.buffer, data.byteOffset, data.length), stride, count: data.length / stride, ruleLabels: new Map(), format: fmt,
    where: (i) => `${path} record ${i + 1} (bytes ${i * stride}-${(i + 1) * stride - 1})`,
  };
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

/**
 * Writes a table. `ruleLabels` (rule number -> labels) adds each state's `labels` to JSON Lines
 * (the records themselves carry none). A write that fails is E_BAD_INPUT naming the path.
 */
export function saveTableFile(path: string, records: Uint8Array, count: number, layout: RecordLayout, format: TableFormat,
  ruleLabels?: Map<number, string[]>): void {
  const from = layout === 'pf-1301' ? 242 : 384;
  const raw = format === 'jsonl' ? undefined : convertRecords(records.subarray(0, count * from), from, format === 'pf-1301' ? 242 : 384);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'w');
    if (raw) {
      writeAll(fd, raw);
    } else {
      // In batches: millions of lines joined at once would pass V8's largest string.
      let batch: string[] = [];
      for (const l of jsonLines(records, count, layout, ruleLabels)) {
        batch.push(l);
        if (batch.length === 4096) {
          writeAll(fd, Buffer.from(`${batch.join('\n')}\n`));
          batch = [];
        }
      }
      if (batch.length) writeAll(fd, Buffer.from(`${batch.join('\n')}\n`));
    }
  } catch (e) {
    if (e instanceof StatekillError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new StatekillError(`cannot write ${path}: ${err.code ?? err.message}`, 2, 'E_BAD_INPUT');
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
}
