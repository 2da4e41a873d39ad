/**
 * The unsafe-filter guard: a tuple-less ctnetlink DELETE that the kernel does not filter flushes the
 * whole table, so statekill refuses to send one unless mark AND a non-zero mask are present and the
 * kernel version honours the filter (mark >= 4.0, reply destination CTA_FILTER >= 6.12).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { ConntrackBackend, type KernelFilter } from '../src/backends/conntrack.js';
import { addNs, delAllNs, netnsUnavailable, nsName } from './conntrack-netns.js';
import { MASK, WAN1, WAN2, dumpAll, fill, insertEntries } from './conntrack-fill.js';

describe('kernel filter safety by version', () => {
  const refuse = native.ctKernelFilterRefusal;
  it('refuses a mark flush before 4.0 (the mark was ignored: full flush)', () => {
    expect(refuse('3.19.8', 'mark', 0xffffffff)).toMatch(/4\.0/);
    expect(refuse('2.6.32-754.el6', 'mark', 0xff)).toMatch(/4\.0/);
    expect(refuse('4.0.5', 'mark', 0xffffffff)).toBeNull();
    expect(refuse('5.7.19', 'mark', 0x3f00)).toBeNull();
    expect(refuse('6.18.44-fc-v595', 'mark', 0xff00)).toBeNull();
  });
  it('refuses a mark flush without a mask, or with mask 0', () => {
    expect(refuse('6.18.0', 'mark')).toMatch(/mask/);
    expect(refuse('6.18.0', 'mark', 0)).toMatch(/full flush/);
  });
  it('refuses a reply-destination flush before 6.12 (no CTA_FILTER on flush)', () => {
    expect(refuse('6.11.9', 'replyDst')).toMatch(/6\.12/);
    expect(refuse('5.10.0-28-amd64', 'replyDst')).toMatch(/6\.12/);
    expect(refuse('6.12.0', 'replyDst')).toBeNull();
    expect(refuse('7.0.1', 'replyDst')).toBeNull();
  });
  it('refuses what it cannot read', () => {
    expect(refuse('garbage', 'mark', 0xff)).toMatch(/cannot read/);
    expect(refuse('6.18.0', 'status' as 'mark', 0xff)).toMatch(/unknown/);
  });
});

const why = netnsUnavailable();
if (why) console.log(`conntrack-guard: skipping the real-kernel part: ${why}`);

describe.skipIf(why !== null)('guard on the real kernel (own netns)', () => {
  let fd = -1;
  let be: ConntrackBackend;
  const ns = nsName('g');

  beforeAll(() => {
    addNs(ns);
    fd = native.ctOpen(ns);
    be = new ConntrackBackend({ netns: ns });
  });
  afterAll(() => {
    be?.close();
    if (fd >= 0) native.ctClose(fd);
    delAllNs();
  });

  it('refuses mark without mask, mask 0 and a missing filter, and deletes nothing', () => {
    expect(fill(fd, 20)).toBe(20);
    const unsafe = (f: () => unknown) => expect(f).toThrow(expect.objectContaining({ code: 'E_UNSAFE_FILTER' }));
    unsafe(() => (native.ctFlushMark as (fd: number, m: number) => void)(fd, WAN1.mark));
    unsafe(() => native.ctFlushMark(fd, WAN1.mark, 0));
    unsafe(() => native.ctFlushMark(fd, 0, 0));
    unsafe(() => be.killByKernelFilter({ mark: WAN1.mark } as unknown as KernelFilter));
    // Mask 0 through the backend is bad input (it selects everything), refused before any kernel call.
    expect(() => be.killByKernelFilter({ mark: 0, mask: 0 })).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
    unsafe(() => be.killByKernelFilter({} as KernelFilter));
    expect(native.ctCount(fd)).toBe(20);
  });

  it('a guarded mark flush removes exactly the matching entries (the kernel honours the filter)', () => {
    const r = be.killByKernelFilter({ mark: WAN1.mark, mask: MASK });
    expect(r.path).toBe('kernel-mark');
    expect(r.removed).toBe(10);
    const left = native.ctDump(fd, new Uint8Array(new SharedArrayBuffer(64 * 128)), { mark: WAN2.mark, mask: MASK });
    expect(left.total).toBe(10);
    expect(native.ctCount(fd)).toBe(10);
  });

  it('a reply-destination flush removes only that WAN', () => {
    native.ctFlushAll(fd);
    expect(fill(fd, 20)).toBe(20);
    const r = be.killByKernelFilter({ replyDst: WAN2.addr });
    expect(r.path).toBe(native.ctKernelFilterRefusal(native.ctKernelRelease(), 'replyDst') ? 'dump+delete' : 'kernel-reply-dst');
    expect(r.removed).toBe(10);
    const left = native.ctDump(fd, new Uint8Array(new SharedArrayBuffer(64 * 128)), { mark: WAN1.mark, mask: MASK });
    expect(left.total).toBe(10);
  });

  it("the backend's own options are exact or refused (af 'ipv4' scoped it to IPv6; netns '' was this process's table)", () => {
    native.ctFlushAll(fd);
    insertEntries(fd, [
      { af: 4, proto: 6, src: '10.0.0.1', dst: '192.0.2.1', srcPort: 40000, dstPort: 443, mark: WAN1.mark },
      { af: 6, proto: 6, src: 'fd00::1', dst: '2001:db8::1', srcPort: 40000, dstPort: 443, mark: WAN1.mark },
    ]);
    for (const o of [{ af: 'ipv4' }, { af: '' }, { af: 'INET' }, { af: 4 }, { af: null }, { netns: '' }, { netns: 7 }, { batch: 0 }, { batch: 1.5 }, { batch: 8193 }])
      expect(() => new ConntrackBackend({ netns: ns, ...o } as never), JSON.stringify(o)).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
    expect(native.ctCount(fd)).toBe(2);
    const v4 = new ConntrackBackend({ netns: ns, af: 'inet', batch: 1 });
    try {
      expect(v4.killByKernelFilter({ mark: WAN1.mark, mask: MASK }).killed).toBe(1);
    } finally {
      v4.close();
    }
    expect(dumpAll(fd).map((e) => e.af)).toEqual([6]);
  });
});
