/**
 * JSON Lines, statekill's public interchange format for pf state tables (one state per line,
 * field names as in FreeBSD 14's pf_state_export; documented in the README). Parsing is strict
 * and all-or-nothing: the first bad line throws E_BAD_INPUT naming its line number and field.
 */
import { badInput } from '../errors.js';
import { parseAddr } from '../engine/addr.js';
import { show } from '../engine/show.js';
import {
  AF_INET, AF_INET6, EXPORT_OFFSETS as O, PF_IN, PF_OUT, PF_STATE_VERSION_14, PRIV, PRIV_KEY_AF, PRIV_RT_AF, RT_NAMES, STATE_FLAGS_U16, decodeState, parseProto, protoName,
} from './records.js';
import type { RecordLayout } from '../engine/types.js';

const RT_NUMBERS: Record<string, number> = Object.fromEntries(Object.entries(RT_NAMES).map(([n, s]) => [s, Number(n)]));
const KNOWN = new Set(['id', 'creatorid', 'ifname', 'orig_ifname', 'af', 'proto', 'direction', 'key', 'rt', 'rt_addr',
  'rt_af', 'rt_ifname', 'rule', 'anchor', 'nat_rule', 'creation', 'expire', 'packets', 'bytes', 'timeout', 'state_flags', 'log',
  'labels']);

export interface ParsedTable {
  /** pf_state_export records (384 bytes each). */
  records: Uint8Array;
  count: number;
  /** The line number (1-based) each record came from. */
  lines: Int32Array;
  /** Rule labels named by states (`labels`), for label kills in the simulated kernel. */
  ruleLabels: Map<number, string[]>;
}

const KEY_FIELDS = new Set(['addr', 'port', 'af', 'proto']);
const famNumber = (f: 'inet' | 'inet6') => (f === 'inet' ? AF_INET : AF_INET6);

class LineError extends Error {}
const fail = (field: string, msg: string): never => { throw new LineError(`field '${field}': ${msg}`); };

function ifname(v: unknown, field: string): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_.:-]{1,15}$/.test(v)) fail(field, `expected an interface name of 1-15 characters, got ${show(v)}`);
  return v as string;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `expected an integer ${min}..${max}, got ${show(v)}`);
  return v as number;
}

function counterPair(v: unknown, field: string): [bigint, bigint] {
  if (!Array.isArray(v) || v.length !== 2) fail(field, 'expected [n, n]');
  return (v as unknown[]).map((x) => {
    // A JSON number past 2^53-1 was already rounded by JSON.parse: such counters come as strings.
    if (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) return BigInt(x);
    if (typeof x === 'string' && /^\d{1,20}$/.test(x) && BigInt(x) <= 0xffffffffffffffffn) return BigInt(x);
    return fail(field, `expected an integer 0..2^64-1 (a string beyond 2^53-1), got ${show(x)}`);
  }) as [bigint, bigint];
}

function writeName(b: Uint8Array, off: number, s: string): void {
  b.fill(0, off, off + 16);
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).write(s, off, 15, 'latin1');
}

/** Encode one parsed JSON object into a 384-byte pf_state_export at `b`. */
export function encodeState(obj: unknown, b: Uint8Array, labels?: Map<number, string[]>): void {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new LineError('expected a JSON object');
  const s = obj as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) fail(k.length > 32 ? `${k.slice(0, 32)}…` : k, 'unknown field');
  for (const k of ['id', 'creatorid', 'af', 'proto', 'direction', 'key']) if (s[k] === undefined) fail(k, 'required field missing');
  b.fill(0);
  const dv = new DataView(b.buffer, b.byteOffset, 384);
  dv.setBigUint64(O.version, PF_STATE_VERSION_14, true);
  if (typeof s.id !== 'string' || !/^[0-9a-fA-F]{16}$/.test(s.id)) fail('id', `expected 16 hex digits, got ${show(s.id)}`);
  if (/^0+$/.test(s.id as string)) fail('id', 'state id 0 is not valid');
  dv.setBigUint64(O.id, BigInt(`0x${s.id}`), false); // big-endian: the hex digits are the raw bytes
  if (typeof s.creatorid !== 'string' || !/^[0-9a-fA-F]{8}$/.test(s.creatorid)) fail('creatorid', `expected 8 hex digits, got ${show(s.creatorid)}`);
  dv.setUint32(O.creatorid, parseInt(s.creatorid as string, 16), true);
  if (s.af !== 'inet' && s.af !== 'inet6') fail('af', `expected "inet" or "inet6", got ${show(s.af)}`);
  const af = s.af as 'inet' | 'inet6';
  b[O.af] = af === 'inet' ? AF_INET : AF_INET6;
  const proto = typeof s.proto === 'string' || typeof s.proto === 'number' ? parseProto(s.proto) : undefined;
  if (proto === undefined) fail('proto', `expected a protocol name or number 0-255, got ${show(s.proto)}`);
  b[O.proto] = proto as number;
  if (s.direction !== 'in' && s.direction !== 'out') fail('direction', `expected "in" or "out", got ${show(s.direction)}`);
  b[O.direction] = s.direction === 'in' ? PF_IN : PF_OUT;
  if (!Array.isArray(s.key) || s.key.length !== 2) fail('key', 'expected [wire, stack]');
  // Each key's own family and protocol (pf_state_key af/proto): FreeBSD 15 af-to (NAT64) states
  // translate the stack key into the other family. Kept in statekill's private record bytes
  // (native/pf/record_codec.h) only where they differ from the state's.
  const keyFam: Array<'inet' | 'inet6'> = [af, af];
  const keyProto = [proto as number, proto as number];
  (s.key as unknown[]).forEach((k, i) => {
    const field = `key[${i}]`;
    const kk = k as { addr?: unknown; port?: unknown; af?: unknown; proto?: unknown };
    if (typeof k !== 'object' || k === null || !Array.isArray(kk.addr) || kk.addr.length !== 2 || !Array.isArray(kk.port) || kk.port.length !== 2)
      fail(field, 'expected {addr:[a0,a1], port:[p0,p1]}');
    for (const f of Object.keys(kk)) if (!KEY_FIELDS.has(f)) fail(`${field}.${f.length > 32 ? `${f.slice(0, 32)}…` : f}`, 'unknown field');
    if (kk.af !== undefined) {
      if (kk.af !== 'inet' && kk.af !== 'inet6') fail(`${field}.af`, `expected "inet" or "inet6", got ${show(kk.af)}`);
      keyFam[i] = kk.af as 'inet' | 'inet6';
    }
    if (kk.proto !== undefined) {
      const p = typeof kk.proto === 'string' || typeof kk.proto === 'number' ? parseProto(kk.proto) : undefined;
      if (p === undefined) fail(`${field}.proto`, `expected a protocol name or number 0-255, got ${show(kk.proto)}`);
      keyProto[i] = p as number;
    }
    if (i === 0 && (keyFam[0] !== af || keyProto[0] !== proto))
      fail(`${field}.${keyFam[0] !== af ? 'af' : 'proto'}`, "the wire key's family and protocol are the state's own af and proto");
    (kk.addr as unknown[]).forEach((a, j) => {
      const p = typeof a === 'string' ? parseAddr(a) : undefined;
      if (!p || p.af !== keyFam[i]) fail(`${field}.addr[${j}]`, `expected an ${keyFam[i]} address, got ${show(a)}`);
      b.set(p!.bytes, O.key + i * 36 + j * 16);
    });
    (kk.port as unknown[]).forEach((p, j) => dv.setUint16(O.key + i * 36 + 32 + j * 2, int(p, `${field}.port[${j}]`, 0, 65535), false));
  });
  if (keyFam[1] !== af || keyProto[1] !== proto) {
    b[PRIV] |= PRIV_KEY_AF;
    b.set([famNumber(af), keyProto[0], famNumber(keyFam[1]), keyProto[1]], PRIV + 2);
  }
  const name = s.ifname === undefined ? 'all' : ifname(s.ifname, 'ifname');
  writeName(b, O.ifname, name);
  writeName(b, O.origIfname, s.orig_ifname === undefined ? name : ifname(s.orig_ifname, 'orig_ifname'));
  if (s.rt !== undefined) {
    if (typeof s.rt !== 'string' || !(s.rt in RT_NUMBERS)) fail('rt', `expected "route-to", "reply-to" or "dup-to", got ${show(s.rt)}`);
    b[O.rt] = RT_NUMBERS[s.rt as string];
  }
  // The next hop's own family (FreeBSD 15's PF_ST_RT_AF: an IPv4 state routed via an IPv6 next hop).
  let rtAf = af;
  if (s.rt_af !== undefined) {
    if (s.rt_af !== 'inet' && s.rt_af !== 'inet6') fail('rt_af', `expected "inet" or "inet6", got ${show(s.rt_af)}`);
    if (s.rt_addr === undefined) fail('rt_af', 'the family of rt_addr: give rt_addr too');
    rtAf = s.rt_af as 'inet' | 'inet6';
  }
  if (s.rt_addr !== undefined) {
    const p = typeof s.rt_addr === 'string' ? parseAddr(s.rt_addr) : undefined;
    if (!p || p.af !== rtAf) fail('rt_addr', `expected an ${rtAf} address, got ${show(s.rt_addr)}`);
    b.set(p!.bytes, O.rtAddr);
    if (rtAf !== af) {
      b[PRIV] |= PRIV_RT_AF;
      b[PRIV + 1] = famNumber(rtAf);
    }
  }
  if (s.rt_ifname !== undefined) writeName(b, O.rtIfname, ifname(s.rt_ifname, 'rt_ifname'));
  // u32 in the kernel with 0xffffffff = none (pf-abi.md 3.4): -1 here, as decodeState prints it.
  for (const [field, off] of [['rule', O.rule], ['anchor', O.anchor], ['nat_rule', O.natRule]] as const)
    dv.setUint32(off, (s[field] === undefined ? -1 : int(s[field], field, -1, 0xfffffffe)) >>> 0, false);
  dv.setUint32(O.creation, s.creation === undefined ? 0 : int(s.creation, 'creation', 0, 0xffffffff), false);
  dv.setUint32(O.expire, s.expire === undefined ? 0 : int(s.expire, 'expire', 0, 0xffffffff), false);
  if (s.packets !== undefined) counterPair(s.packets, 'packets').forEach((v, i) => dv.setBigUint64(O.packets + i * 8, v, true));
  if (s.bytes !== undefined) counterPair(s.bytes, 'bytes').forEach((v, i) => dv.setBigUint64(O.bytes + i * 8, v, true));
  if (s.timeout !== undefined) b[O.timeout] = int(s.timeout, 'timeout', 0, 255);
  if (s.state_flags !== undefined) {
    const f = int(s.state_flags, 'state_flags', 0, 0xffff);
    b[O.stateFlags] = f & 0xff;
    dv.setUint16(STATE_FLAGS_U16, f, false); // the 14.x u16 field
  }
  if (s.log !== undefined) b[O.log] = int(s.log, 'log', 0, 255);
  if (s.labels !== undefined) {
    if (!Array.isArray(s.labels) || s.labels.length > 5 || !s.labels.every((l) => typeof l === 'string' && l.length < 64))
      fail('labels', 'expected up to 5 strings shorter than 64 characters');
    if (s.rule === undefined || s.rule === -1) fail('labels', 'labels belong to a rule: give "rule" too');
    const prev = labels?.get(s.rule as number);
    if (prev && prev.join('\0') !== (s.labels as string[]).join('\0'))
      fail('labels', `rule ${s.rule as number} already has labels ${show(prev)}: a rule has one set of labels`);
    labels?.set(s.rule as number, s.labels as string[]);
  }
}

/** Records grow by doubling: a file of comments and blank lines costs nothing. */
class RecordSink {
  records = new Uint8Array(new SharedArrayBuffer(384 * 256));
  lines = new Int32Array(256);
  count = 0;

  next(line: number): Uint8Array {
    if (this.count * 384 === this.records.length) {
      const bigger = new Uint8Array(new SharedArrayBuffer(this.records.length * 2));
      bigger.set(this.records);
      this.records = bigger;
      const l = new Int32Array(this.lines.length * 2);
      l.set(this.lines);
      this.lines = l;
    }
    this.lines[this.count] = line;
    const at = this.count * 384;
    return this.records.subarray(at, at + 384);
  }
}

function parseLine(text: string, lineNo: number, sink: RecordSink, labels: Map<number, string[]>, source: string): void {
  try {
    encodeState(JSON.parse(text), sink.next(lineNo), labels);
  } catch (e) {
    const why = e instanceof LineError ? e.message : `not valid JSON (${show((e as Error).message, 160).slice(1, -1)})`;
    throw badInput(`${source} line ${lineNo}: ${why}`);
  }
  sink.count++;
}

function done(sink: RecordSink, ruleLabels: Map<number, string[]>): ParsedTable {
  return { records: sink.records.subarray(0, sink.count * 384), count: sink.count, lines: sink.lines.subarray(0, sink.count), ruleLabels };
}

/** Parse a whole JSON Lines text; blank lines and lines starting with '#' are skipped. */
export function parseJsonl(text: string, source = 'JSON Lines'): ParsedTable {
  const sink = new RecordSink();
  const ruleLabels = new Map<number, string[]>();
  for (let start = 0, lineNo = 1; start <= text.length; lineNo++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const t = text.slice(start, end).trim();
    if (t !== '' && !t.startsWith('#')) parseLine(t, lineNo, sink, ruleLabels, source);
    start = end + 1;
  }
  return done(sink, ruleLabels);
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0b || c === 0x0c;

/**
 * parseJsonl over a file's bytes, line by line: no whole-file string (V8 caps strings near 512 MB)
 * and no array of every line (a 20M-line comment file once ended in a RangeError).
 */
export function parseJsonlBytes(data: Uint8Array, source = 'JSON Lines'): ParsedTable {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const sink = new RecordSink();
  const ruleLabels = new Map<number, string[]>();
  for (let start = 0, lineNo = 1; start <= buf.length; lineNo++) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    let first = start;
    while (first < end && isSpace(buf[first])) first++;
    if (first < end && buf[first] !== 0x23 /* # */) parseLine(buf.toString('utf8', first, end).trim(), lineNo, sink, ruleLabels, source);
    start = end + 1;
  }
  return done(sink, ruleLabels);
}

/**
 * A u64 counter for JSON: a number up to 2^53-1, beyond that a decimal string (a float would round
 * it). The parser takes both.
 */
function counter(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** One record as a JSON object with 14.x field names; neutral defaults are left out. */
export function stateToJson(bytes: Uint8Array, index: number, layout: RecordLayout, ruleLabels?: Map<number, string[]>): Record<string, unknown> {
  const d = decodeState(bytes, index, layout);
  const o: Record<string, unknown> = { id: d.id, creatorid: d.creatorid, ifname: d.ifname };
  if (d.orig_ifname !== d.ifname) o.orig_ifname = d.orig_ifname;
  const key = d.key.map((k) => (k.proto === undefined ? k : { ...k, proto: protoName(k.proto) }));
  Object.assign(o, { af: d.af, proto: protoName(d.proto), direction: d.direction, key });
  if (d.rt) o.rt = RT_NAMES[d.rt] ?? d.rt;
  if (d.rt_addr) o.rt_addr = d.rt_addr;
  if (d.rt_af) o.rt_af = d.rt_af;
  if (d.rt_ifname) o.rt_ifname = d.rt_ifname;
  if (d.rule !== -1) o.rule = d.rule;
  if (d.anchor !== -1) o.anchor = d.anchor;
  if (d.nat_rule !== -1) o.nat_rule = d.nat_rule;
  if (d.creation) o.creation = d.creation;
  if (d.expire) o.expire = d.expire;
  if (d.packets[0] || d.packets[1]) o.packets = d.packets.map(counter);
  if (d.bytes[0] || d.bytes[1]) o.bytes = d.bytes.map(counter);
  if (d.timeout) o.timeout = d.timeout;
  if (d.state_flags) o.state_flags = d.state_flags;
  if (d.log) o.log = d.log;
  // Labels are the main ruleset's: a state made inside an anchor has that anchor's rule numbering.
  const labels = d.rule !== -1 && d.anchor === -1 ? ruleLabels?.get(d.rule) : undefined;
  if (labels?.length) o.labels = labels;
  return o;
}

export function* jsonLines(bytes: Uint8Array, count: number, layout: RecordLayout, ruleLabels?: Map<number, string[]>): Generator<string> {
  for (let i = 0; i < count; i++) yield JSON.stringify(stateToJson(bytes, i, layout, ruleLabels));
}
