/**
 * Test helper: pf_state_export records from JSON Lines objects, plus the facts only FreeBSD 15's
 * netlink dump carries, written into statekill's private bytes (native/pf/record_codec.h:
 * kPrivOffset 376: flags, rt_af, wire af/proto, stack af/proto).
 */
import { parseJsonl } from '../src/table/jsonl.js';
import { parseAddr } from '../src/engine/addr.js';

export const R = 384;
export const PRIV = 376;
const HAS_KEY_AF = 0x01, HAS_RT_AF = 0x02;
export const AF = { inet: 2, inet6: 28 } as const;

export function records(states: object[]): { bytes: Uint8Array; count: number } {
  const t = parseJsonl(states.map((s) => JSON.stringify(s)).join('\n'));
  return { bytes: t.records, count: t.count };
}

function addrBytes(a: string): Uint8Array {
  const p = parseAddr(a);
  if (!p) throw new Error(`bad address ${a}`);
  return p.bytes;
}

/** An IPv4 (or IPv6) state routed via a next hop of the other family (RFC 8950), as 15 dumps it. */
export function setNextHop(bytes: Uint8Array, i: number, addr: string): void {
  const p = parseAddr(addr)!;
  bytes.set(p.bytes, i * R + 184);
  bytes[i * R + PRIV] |= HAS_RT_AF;
  bytes[i * R + PRIV + 1] = AF[p.af];
}

/** An af-to state: the stack key in its own family (addresses and ports replace key[1]). */
export function setStackKey(bytes: Uint8Array, i: number, addrs: [string, string], ports: [number, number], proto: number): void {
  const o = i * R;
  const stackAf = parseAddr(addrs[0])!.af;
  bytes.fill(0, o + 84, o + 120);
  bytes.set(addrBytes(addrs[0]), o + 84);
  bytes.set(addrBytes(addrs[1]), o + 100);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + o, R);
  dv.setUint16(84 + 32, ports[0], false);
  dv.setUint16(84 + 34, ports[1], false);
  bytes[o + PRIV] |= HAS_KEY_AF;
  bytes[o + PRIV + 2] = bytes[o + 264]; // wire: the state's own af/proto
  bytes[o + PRIV + 3] = bytes[o + 265];
  bytes[o + PRIV + 4] = AF[stackAf];
  bytes[o + PRIV + 5] = proto;
}

export const idHex = (bytes: Uint8Array, i: number) => Buffer.from(bytes.subarray(i * R + 8, i * R + 16)).toString('hex');
