/**
 * Synthetic conntrack entries for the bulk tests (conntrack.md §2's scheme): TCP ESTABLISHED,
 * unique original tuples, masqueraded-looking reply tuples. Entry i belongs to WAN1 (mark 0x100,
 * reply dst 10.1.1.2) when i is even, WAN2 (mark 0x200, reply dst 10.1.2.2) when odd; mwan3-style
 * marks under mask 0xff00 with noise in the low bits.
 */
import { native } from '../src/native/index.js';
import { parseAddr, parseIPv4 } from '../src/engine/addr.js';
import { CT_STRIDE, IPS, decodeCtRecord, encodeCtRecord, type CtEntry } from '../src/backends/conntrack-record.js';

export const WAN1 = { mark: 0x100, addr: '10.1.1.2' };
export const WAN2 = { mark: 0x200, addr: '10.1.2.2' };
export const MASK = 0xff00;

export function synthRecords(n: number, opts: { zone?: number; portBase?: number } = {}): Uint8Array {
  const b = new Uint8Array(new SharedArrayBuffer(n * CT_STRIDE));
  const srv = parseIPv4('10.99.0.80');
  const w1 = parseIPv4(WAN1.addr), w2 = parseIPv4(WAN2.addr);
  const portBase = opts.portBase ?? 2000;
  for (let i = 0; i < n; i++) {
    const wan1 = i % 2 === 0;
    const src = parseIPv4(`10.20.${(i >> 8) & 255}.${i & 255}`);
    encodeCtRecord(b, i, {
      af: 4, proto: 6, tcpState: 3 /* ESTABLISHED */,
      src, srcPort: portBase + (i >> 16), dst: srv, dstPort: 443,
      // Reply tuples must be unique too: one masquerade port per entry and WAN.
      replySrc: srv, replySrcPort: 443, replyDst: wan1 ? w1 : w2, replyDstPort: 1024 + (i >> 1),
      mark: (wan1 ? WAN1.mark : WAN2.mark) | (i & 0xff),
      zone: opts.zone ?? 0,
      status: IPS.seenReply | IPS.assured,
      timeout: 3600,
    });
  }
  return b;
}

/** Inserts `n` synthetic entries through `fd`; returns the number created. */
export function fill(fd: number, n: number, opts: { zone?: number; portBase?: number } = {}): number {
  const recs = synthRecords(n, opts);
  return native.ctInsert(fd, recs, n, new Int32Array(n));
}

/**
 * One entry for `insertEntries` (CtEntry's original tuple): the reply tuple defaults to the inverse
 * (no NAT); `replyDst`/`replyDstPort` masquerade it.
 */
export type EntrySpec = Pick<CtEntry, 'af' | 'proto' | 'src' | 'dst' | 'srcPort' | 'dstPort'> &
  Partial<Pick<CtEntry, 'replyDst' | 'replyDstPort' | 'mark' | 'zone'>>;

export function entryRecords(list: EntrySpec[]): Uint8Array {
  const b = new Uint8Array(new SharedArrayBuffer(Math.max(1, list.length) * CT_STRIDE));
  list.forEach((e, i) => {
    const a = (s: string) => parseAddr(s)!.bytes;
    encodeCtRecord(b, i, {
      af: e.af, proto: e.proto, tcpState: e.proto === 6 ? 3 : undefined,
      src: a(e.src), dst: a(e.dst), srcPort: e.srcPort, dstPort: e.dstPort,
      replySrc: a(e.dst), replySrcPort: e.dstPort,
      replyDst: a(e.replyDst ?? e.src), replyDstPort: e.replyDstPort ?? e.srcPort,
      mark: e.mark ?? 0, zone: e.zone ?? 0, status: IPS.seenReply | IPS.assured, timeout: 3600,
    });
  });
  return b;
}

/** Creates the entries; throws unless every one was created. */
export function insertEntries(fd: number, list: EntrySpec[]): void {
  const out = new Int32Array(list.length);
  const made = native.ctInsert(fd, entryRecords(list), list.length, out);
  if (made !== list.length) throw new Error(`insertEntries: created ${made} of ${list.length} (results ${[...out].join(',')})`);
}

/** Every entry of the socket's netns, decoded. */
export function dumpAll(fd: number): CtEntry[] {
  const cap = native.ctCount(fd) + 64;
  const bytes = new Uint8Array(new SharedArrayBuffer(cap * CT_STRIDE));
  const r = native.ctDump(fd, bytes, {});
  return Array.from({ length: r.count }, (_, i) => decodeCtRecord(bytes, i));
}

/** A text key for an entry's original tuple and zone (what the kernel looks it up by). */
export function tupleKey(e: { zone: number; proto: number; src: string; srcPort: number; dst: string; dstPort: number }): string {
  return `${e.zone} ${e.proto} ${e.src}:${e.srcPort} > ${e.dst}:${e.dstPort}`;
}
