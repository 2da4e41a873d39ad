/**
 * JSON Lines, statekill's public interchange format for pf state tables (one state per line,
 * field names as in FreeBSD 14's pf_state_export; documented in the README). Parsing is strict
 * and all-or-nothing: the first bad line throws E_BAD_INPUT naming its line number and field.
 */
import { badInput } from '../errors.js';
import { parseAddr } from '../engine/addr.js';
import {
  AF_INET, AF_INET6, EXPORT_OFFSETS as O, PF_IN, PF_OUT, PF_STATE_VERSION_14, RT_NAMES, decodeState, parseProto, protoName,
} from './records.js';
import type { RecordLayout } from '../engine/types.js';

const RT_NUMBERS: Record<string, number> = Object.fromEntries(Object.entries(RT_NAMES).map(([n, s]) => [s, Number(n)]));
const KNOWN = new Set(['id', 'creatorid', 'ifname', 'orig_ifname', 'af', 'proto', 'direction', 'key', 'rt', 'rt_addr',
  'rt_ifname', 'rule', 'anchor', 'nat_rule', 'creation', 'expire', 'packets', 'bytes', 'timeout', 'state_flags', 'log',
  'labels']);

export interface ParsedTable {
  /** pf_state_export records (384 bytes each). */
  records: Uint8Array;
  count: number;
  /** Rule labels named by states (`labels`), for label kills in the simulated kernel. */
  ruleLabels: Map<number, string[]>;
}

class LineError extends Error {}
const fail = (field: string, msg: string): never => { throw new LineError(`field '${field}': ${msg}`); };

function ifname(v: unknown, field: string): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_.:-]{1,15}$/.test(v)) fail(field, `expected an interface name of 1-15 characters, got ${JSON.stringify(v)}`);
  return v as string;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `expected an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  return v as number;
}

function counterPair(v: unknown, field: string): [bigint, bigint] {
  if (!Array.isArray(v) || v.length !== 2) fail(field, 'expected [n, n]');
  return (v as unknown[]).map((x) => {
    if (typeof x === 'number' && Number.isInteger(x) && x >= 0) return BigInt(x);
    if (typeof x === 'string' && /^\d+$/.test(x)) return BigInt(x);
    return fail(field, `expected a non-negative integer, got ${JSON.stringify(x)}`);
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
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) fail(k, 'unknown field');
  for (const k of ['id', 'creatorid', 'af', 'proto', 'direction', 'key']) if (s[k] === undefined) fail(k, 'required field missing');
  b.fill(0);
  const dv = new DataView(b.buffer, b.byteOffset, 384);
  dv.setBigUint64(O.version, PF_STATE_VERSION_14, true);
  if (typeof s.id !== 'string' || !/^[0-9a-fA-F]{16}$/.test(s.id)) fail('id', `expected 16 hex digits, got ${JSON.stringify(s.id)}`);
  if (/^0+$/.test(s.id as string)) fail('id', 'state id 0 is not valid');
  dv.setBigUint64(O.id, BigInt(`0x${s.id}`), false); // big-endian: the hex digits are the raw bytes
  if (typeof s.creatorid !== 'string' || !/^[0-9a-fA-F]{8}$/.test(s.creatorid)) fail('creatorid', `expected 8 hex digits, got ${JSON.stringify(s.creatorid)}`);
  dv.setUint32(O.creatorid, parseInt(s.creatorid as string, 16), true);
  if (s.af !== 'inet' && s.af !== 'inet6') fail('af', `expected "inet" or "inet6", got ${JSON.stringify(s.af)}`);
  const af = s.af as 'inet' | 'inet6';
  b[O.af] = af === 'inet' ? AF_INET : AF_INET6;
  const proto = typeof s.proto === 'string' || typeof s.proto === 'number' ? parseProto(s.proto) : undefined;
  if (proto === undefined) fail('proto', `expected a protocol name or number 0-255, got ${JSON.stringify(s.proto)}`);
  b[O.proto] = proto as number;
  if (s.direction !== 'in' && s.direction !== 'out') fail('direction', `expected "in" or "out", got ${JSON.stringify(s.direction)}`);
  b[O.direction] = s.direction === 'in' ? PF_IN : PF_OUT;
  if (!Array.isArray(s.key) || s.key.length !== 2) fail('key', 'expected [wire, stack]');
  (s.key as unknown[]).forEach((k, i) => {
    const field = `key[${i}]`;
    const kk = k as { addr?: unknown; port?: unknown };
    if (typeof k !== 'object' || k === null || !Array.isArray(kk.addr) || kk.addr.length !== 2 || !Array.isArray(kk.port) || kk.port.length !== 2)
      fail(field, 'expected {addr:[a0,a1], port:[p0,p1]}');
    (kk.addr as unknown[]).forEach((a, j) => {
      const p = typeof a === 'string' ? parseAddr(a) : undefined;
      if (!p || p.af !== af) fail(`${field}.addr[${j}]`, `expected an ${af} address, got ${JSON.stringify(a)}`);
      b.set(p!.bytes, O.key + i * 36 + j * 16);
    });
    (kk.port as unknown[]).forEach((p, j) => dv.setUint16(O.key + i * 36 + 32 + j * 2, int(p, `${field}.port[${j}]`, 0, 65535), false));
  });
  const name = s.ifname === undefined ? 'all' : ifname(s.ifname, 'ifname');
  writeName(b, O.ifname, name);
  writeName(b, O.origIfname, s.orig_ifname === undefined ? name : ifname(s.orig_ifname, 'orig_ifname'));
  if (s.rt !== undefined) {
    if (typeof s.rt !== 'string' || !(s.rt in RT_NUMBERS)) fail('rt', `expected "route-to", "reply-to" or "dup-to", got ${JSON.stringify(s.rt)}`);
    b[O.rt] = RT_NUMBERS[s.rt as string];
  }
  if (s.rt_addr !== undefined) {
    const p = typeof s.rt_addr === 'string' ? parseAddr(s.rt_addr) : undefined;
    if (!p || p.af !== af) fail('rt_addr', `expected an ${af} address, got ${JSON.stringify(s.rt_addr)}`);
    b.set(p!.bytes, O.rtAddr);
  }
  if (s.rt_ifname !== undefined) writeName(b, O.rtIfname, ifname(s.rt_ifname, 'rt_ifname'));
  for (const [field, off] of [['rule', O.rule], ['anchor', O.anchor], ['nat_rule', O.natRule]] as const)
    dv.setInt32(off, s[field] === undefined ? -1 : int(s[field], field, -1, 0x7fffffff), false);
  dv.setUint32(O.creation, s.creation === undefined ? 0 : int(s.creation, 'creation', 0, 0xffffffff), false);
  dv.setUint32(O.expire, s.expire === undefined ? 0 : int(s.expire, 'expire', 0, 0xffffffff), false);
  if (s.packets !== undefined) counterPair(s.packets, 'packets').forEach((v, i) => dv.setBigUint64(O.packets + i * 8, v, true));
  if (s.bytes !== undefined) counterPair(s.bytes, 'bytes').forEach((v, i) => dv.setBigUint64(O.bytes + i * 8, v, true));
  if (s.timeout !== undefined) b[O.timeout] = int(s.timeout, 'timeout', 0, 255);
  if (s.state_flags !== undefined) {
    const f = int(s.state_flags, 'state_flags', 0, 0xffff);
    b[O.stateFlags] = f & 0xff;
    dv.setUint16(272, f, false); // the 14.x u16 field
  }
  if (s.log !== undefined) b[O.log] = int(s.log, 'log', 0, 255);
  if (s.labels !== undefined) {
    if (!Array.isArray(s.labels) || s.labels.length > 5 || !s.labels.every((l) => typeof l === 'string' && l.length < 64))
      fail('labels', 'expected up to 5 strings shorter than 64 characters');
    if (s.rule === undefined) fail('labels', 'labels belong to a rule: give "rule" too');
    labels?.set(s.rule as number, s.labels as string[]);
  }
}

/** Parse a whole JSON Lines text; blank lines and lines starting with '#' are skipped. */
export function parseJsonl(text: string, source = 'JSON Lines'): ParsedTable {
  const lines = text.split('\n');
  const records = new Uint8Array(new SharedArrayBuffer(Math.max(1, lines.length) * 384));
  const ruleLabels = new Map<number, string[]>();
  let count = 0;
  lines.forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    let obj: unknown;
    try {
      obj = JSON.parse(t);
      encodeState(obj, records.subarray(count * 384, count * 384 + 384), ruleLabels);
    } catch (e) {
      const why = e instanceof LineError ? e.message : `not valid JSON (${(e as Error).message})`;
      throw badInput(`${source} line ${i + 1}: ${why}`);
    }
    count++;
  });
  return { records: records.subarray(0, count * 384), count, ruleLabels };
}

/** One record as a JSON object with 14.x field names; neutral defaults are left out. */
export function stateToJson(bytes: Uint8Array, index: number, layout: RecordLayout): Record<string, unknown> {
  const d = decodeState(bytes, index, layout);
  const o: Record<string, unknown> = { id: d.id, creatorid: d.creatorid, ifname: d.ifname };
  if (d.orig_ifname !== d.ifname) o.orig_ifname = d.orig_ifname;
  Object.assign(o, { af: d.af, proto: protoName(d.proto), direction: d.direction, key: d.key });
  if (d.rt) o.rt = RT_NAMES[d.rt] ?? d.rt;
  if (d.rt_addr) o.rt_addr = d.rt_addr;
  if (d.rt_ifname) o.rt_ifname = d.rt_ifname;
  if (d.rule !== -1) o.rule = d.rule;
  if (d.anchor !== -1) o.anchor = d.anchor;
  if (d.nat_rule !== -1) o.nat_rule = d.nat_rule;
  if (d.creation) o.creation = d.creation;
  if (d.expire) o.expire = d.expire;
  if (d.packets[0] || d.packets[1]) o.packets = d.packets.map(Number);
  if (d.bytes[0] || d.bytes[1]) o.bytes = d.bytes.map(Number);
  if (d.timeout) o.timeout = d.timeout;
  if (d.state_flags) o.state_flags = d.state_flags;
  if (d.log) o.log = d.log;
  return o;
}

export function* jsonLines(bytes: Uint8Array, count: number, layout: RecordLayout): Generator<string> {
  for (let i = 0; i < count; i++) yield JSON.stringify(stateToJson(bytes, i, layout));
}
