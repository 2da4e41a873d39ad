/**
 * ctSelect over 'ct' records: the C++ scan the engine's workers call. Pure computation on synthetic
 * records, so it runs on every platform.
 */
import { describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { compileSelection } from '../src/engine/compile.js';
import { parseIPv4, parseIPv6 } from '../src/engine/addr.js';
import { CT_STRIDE, decodeCtRecord, encodeCtRecord } from '../src/backends/conntrack-record.js';
import type { Selection } from '../src/engine/types.js';

// 6 entries: two WANs (mark 0x100 / 0x200 under mask 0xff00, reply dst = the WAN address), one
// IPv6 entry, one UDP, one in zone 7.
function table(): Uint8Array {
  const b = new Uint8Array(new SharedArrayBuffer(6 * CT_STRIDE));
  const lan = (h: number) => parseIPv4(`10.10.0.${h}`);
  const srv = parseIPv4('10.99.0.80');
  const wan1 = parseIPv4('10.1.1.2');
  const wan2 = parseIPv4('10.1.2.2');
  const base = { af: 4 as const, proto: 6, dst: srv, dstPort: 8080, replySrc: srv, replySrcPort: 8080 };
  encodeCtRecord(b, 0, { ...base, src: lan(2), srcPort: 40000, replyDst: wan1, replyDstPort: 40000, mark: 0x101 });
  encodeCtRecord(b, 1, { ...base, src: lan(2), srcPort: 40001, replyDst: wan2, replyDstPort: 40001, mark: 0x201 });
  encodeCtRecord(b, 2, { ...base, src: lan(3), srcPort: 40002, replyDst: wan1, replyDstPort: 40002, mark: 0x1100 });
  const v6a = parseIPv6('fd00::2'), v6b = parseIPv6('fd00:99::80');
  encodeCtRecord(b, 3, { af: 6, proto: 6, src: v6a, dst: v6b, srcPort: 5000, dstPort: 443, replySrc: v6b, replyDst: v6a,
    replySrcPort: 443, replyDstPort: 5000, mark: 0x100 });
  encodeCtRecord(b, 4, { ...base, proto: 17, src: lan(4), srcPort: 53000, dstPort: 53, replyDst: wan2, replyDstPort: 53000, mark: 0x200 });
  encodeCtRecord(b, 5, { ...base, src: lan(5), srcPort: 41000, replyDst: wan1, replyDstPort: 41000, mark: 0x100, zone: 7 });
  return b;
}

function select(sels: Selection[], from = 0, to = 6) {
  const b = table();
  const idx = new Int32Array(to - from);
  const mask = new Uint32Array(to - from);
  const n = native.ctSelect(b, from, to, sels.map(compileSelection), idx, mask);
  return { idx: [...idx.subarray(0, n)], mask: [...mask.subarray(0, n)] };
}

describe('ctSelect', () => {
  it('record codec round-trips the fields it writes', () => {
    const e = decodeCtRecord(table(), 1);
    expect(e).toMatchObject({ af: 4, proto: 6, src: '10.10.0.2', srcPort: 40001, dst: '10.99.0.80', dstPort: 8080,
      replyDst: '10.1.2.2', mark: 0x201, zone: 0 });
    expect(decodeCtRecord(table(), 3).src).toBe('fd00::2');
  });

  it('selects by mark under a mask (mwan3 style), across families', () => {
    expect(select([{ mark: { value: 0x100, mask: 0xff00 } }]).idx).toEqual([0, 3, 5]);
    expect(select([{ mark: { value: 0x200, mask: 0xff00 } }]).idx).toEqual([1, 4]);
  });

  it('selects by reply destination (the masquerade address of a WAN)', () => {
    expect(select([{ replyDst: { af: 'inet', addr: '10.1.1.2', prefix: 32 } }]).idx).toEqual([0, 2, 5]);
    expect(select([{ replyDst: { af: 'inet', addr: '10.1.0.0', prefix: 16 } }]).idx).toEqual([0, 1, 2, 4, 5]);
  });

  it('selects by original source/destination, ports, proto, af and zone', () => {
    expect(select([{ src: { af: 'inet', addr: '10.10.0.2', prefix: 32 } }]).idx).toEqual([0, 1]);
    expect(select([{ dst: { af: 'inet6', addr: 'fd00:99::', prefix: 32 } }]).idx).toEqual([3]);
    expect(select([{ srcPort: 40002 }]).idx).toEqual([2]);
    expect(select([{ dstPort: 53, proto: 17 }]).idx).toEqual([4]);
    expect(select([{ af: 'inet6' }]).idx).toEqual([3]);
    expect(select([{ zone: 7 }]).idx).toEqual([5]);
    expect(select([{ zone: 0, mark: { value: 0x100, mask: 0xff00 } }]).idx).toEqual([0, 3]);
  });

  it('ANDs criteria within a selection and reports which selections matched', () => {
    const r = select([
      { mark: { value: 0x100, mask: 0xff00 }, af: 'inet' },
      { replyDst: { af: 'inet', addr: '10.1.2.2', prefix: 32 } },
      { srcPort: 40000 },
    ]);
    expect(r.idx).toEqual([0, 1, 4, 5]);
    expect(r.mask).toEqual([0b101, 0b010, 0b010, 0b001]);
  });

  it('writes absolute indices for a sub-range', () => {
    expect(select([{ mark: { value: 0x100, mask: 0xff00 } }], 2, 6).idx).toEqual([3, 5]);
  });

  it('refuses pf-only criteria instead of ignoring them (which would widen the kill)', () => {
    const b = table();
    const spec = { ...compileSelection({ mark: { value: 1, mask: 1 } }, 0), interfaces: ['wan1'] };
    expect(() => native.ctSelect(b, 0, 6, [spec], new Int32Array(6), new Uint32Array(6))).toThrow(
      expect.objectContaining({ code: 'E_BAD_INPUT' }),
    );
    expect(() => native.ctSelect(b, 0, 6, [{}], new Int32Array(6), new Uint32Array(6))).toThrow(
      expect.objectContaining({ code: 'E_BAD_INPUT' }),
    );
  });

  it('rejects ranges outside the snapshot and short output arrays', () => {
    const b = table();
    const s = [compileSelection({ proto: 6 }, 0)];
    expect(() => native.ctSelect(b, 0, 7, s, new Int32Array(7), new Uint32Array(7))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => native.ctSelect(b, 0, 6, s, new Int32Array(2), new Uint32Array(6))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => native.ctSelect(b, 4, 2, s, new Int32Array(6), new Uint32Array(6))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
