/**
 * Reading and writing statekill's 128-byte 'ct' records (layout: top of ./conntrack.ts, and
 * native/conntrack/record.h). For rendering, tests and fills; the hot paths stay in C++.
 */
import { endianness } from 'node:os';
import { formatAddr } from '../engine/addr.js';

export const CT_STRIDE = 128;
export const CT = {
  af: 0, proto: 1, tcpState: 2, flags: 3,
  origSport: 4, origDport: 6, replySport: 8, replyDport: 10, zone: 12, replyProto: 14,
  mark: 16, status: 20, timeout: 24, id: 28,
  origSrc: 32, origDst: 48, replySrc: 64, replyDst: 80,
} as const;
export const CT_FLAG = { id: 1, mark: 2, zone: 4, timeout: 8, status: 16 } as const;
/** IPS_* status bits used by fills. */
export const IPS = { seenReply: 1 << 1, assured: 1 << 2, confirmed: 1 << 3 } as const;

const LE = endianness() === 'LE';

export interface CtEntry {
  af: 4 | 6;
  proto: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  replySrc: string;
  replyDst: string;
  replySrcPort: number;
  replyDstPort: number;
  mark: number;
  zone: number;
  status: number;
  timeout: number;
  /** CTA_ID, or undefined when the kernel sent none. */
  id?: number;
  /** TCP state number (CTA_PROTOINFO_TCP_STATE), or undefined. */
  tcpState?: number;
}

export function decodeCtRecord(bytes: Uint8Array, i: number): CtEntry {
  const o = i * CT_STRIDE;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + o, CT_STRIDE);
  const af = bytes[o + CT.af] === 6 ? 6 : 4;
  const fam = af === 6 ? 'inet6' : 'inet';
  const e: CtEntry = {
    af,
    proto: bytes[o + CT.proto],
    src: formatAddr(fam, bytes, o + CT.origSrc),
    dst: formatAddr(fam, bytes, o + CT.origDst),
    srcPort: dv.getUint16(CT.origSport, LE),
    dstPort: dv.getUint16(CT.origDport, LE),
    replySrc: formatAddr(fam, bytes, o + CT.replySrc),
    replyDst: formatAddr(fam, bytes, o + CT.replyDst),
    replySrcPort: dv.getUint16(CT.replySport, LE),
    replyDstPort: dv.getUint16(CT.replyDport, LE),
    mark: dv.getUint32(CT.mark, LE),
    zone: dv.getUint16(CT.zone, LE),
    status: dv.getUint32(CT.status, LE),
    timeout: dv.getUint32(CT.timeout, LE),
  };
  if (bytes[o + CT.flags] & CT_FLAG.id) e.id = dv.getUint32(CT.id, LE);
  if (bytes[o + CT.tcpState] !== 0xff) e.tcpState = bytes[o + CT.tcpState];
  return e;
}

/** Fields for encodeCtRecord: addresses as 16-byte network-order arrays (compile.ts form). */
export interface CtRecordInit {
  af: 4 | 6;
  proto: number;
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  replySrc: Uint8Array;
  replyDst: Uint8Array;
  replySrcPort: number;
  replyDstPort: number;
  mark?: number;
  zone?: number;
  status?: number;
  timeout?: number;
  tcpState?: number;
}

export function encodeCtRecord(bytes: Uint8Array, i: number, r: CtRecordInit): void {
  const o = i * CT_STRIDE;
  bytes.fill(0, o, o + CT_STRIDE);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + o, CT_STRIDE);
  bytes[o + CT.af] = r.af;
  bytes[o + CT.proto] = r.proto;
  bytes[o + CT.replyProto] = r.proto;
  bytes[o + CT.tcpState] = r.tcpState ?? 0xff;
  dv.setUint16(CT.origSport, r.srcPort, LE);
  dv.setUint16(CT.origDport, r.dstPort, LE);
  dv.setUint16(CT.replySport, r.replySrcPort, LE);
  dv.setUint16(CT.replyDport, r.replyDstPort, LE);
  dv.setUint16(CT.zone, r.zone ?? 0, LE);
  dv.setUint32(CT.mark, (r.mark ?? 0) >>> 0, LE);
  dv.setUint32(CT.status, (r.status ?? IPS.seenReply | IPS.assured) >>> 0, LE);
  dv.setUint32(CT.timeout, r.timeout ?? 600, LE);
  bytes.set(r.src.subarray(0, 16), o + CT.origSrc);
  bytes.set(r.dst.subarray(0, 16), o + CT.origDst);
  bytes.set(r.replySrc.subarray(0, 16), o + CT.replySrc);
  bytes.set(r.replyDst.subarray(0, 16), o + CT.replyDst);
}
