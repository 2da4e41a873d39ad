/**
 * Issue 10 item 3: `--mark V/M` with bits of V outside M became "every entry whose masked mark is 0"
 * (ctSelect masked the value), and mask 0 was refused only on the unscoped kernel path. Every
 * conntrack path refuses both on its own (E_BAD_INPUT), whatever the library boundary checks first.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { ConntrackBackend, conntrackMarkRefusal } from '../src/backends/conntrack.js';
import { CT_STRIDE } from '../src/backends/conntrack-record.js';
import { openTable } from '../src/engine/table.js';
import { cli } from './cli-run.js';
import { ctNamespace, netnsUnavailable } from './conntrack-netns.js';
import { MASK, WAN1, fill, synthRecords } from './conntrack-fill.js';

const badInput = expect.objectContaining({ code: 'E_BAD_INPUT' });

describe('mark selectors are exact or refused (no kernel)', () => {
  const recs = synthRecords(64);
  const sel = (mark: { value: number; mask: number }) => () =>
    native.ctSelect(recs, 0, 64, [{ mark }], new Int32Array(64), new Uint32Array(64));

  it('ctSelect refuses value bits outside the mask instead of masking them away', () => {
    // 0x1ff/0xff00 used to select every 0x100/0xff00 entry (half the table).
    expect(sel({ value: 0x1ff, mask: 0xff00 })).toThrow(badInput);
    expect(sel({ value: 0x1, mask: 0xff00 })).toThrow(/bits outside mask 0xff00/);
    expect(sel({ value: 0xffffffff, mask: 0x7fffffff })).toThrow(badInput);
  });
  it('ctSelect refuses mask 0 (it matches every entry), also beside other criteria', () => {
    expect(sel({ value: 0, mask: 0 })).toThrow(badInput);
    expect(() => native.ctSelect(recs, 0, 64, [{ proto: 6, mark: { value: 0, mask: 0 } } as never], new Int32Array(64), new Uint32Array(64)))
      .toThrow(/mask 0 matches every entry/);
  });
  it('still selects an exact mark, including boundary values', () => {
    expect(sel({ value: WAN1.mark, mask: MASK })()).toBe(32);
    expect(sel({ value: 0, mask: 0xffffffff })()).toBe(0);
    expect(sel({ value: 0xffffffff, mask: 0xffffffff })()).toBe(0);
  });
  it('conntrackMarkRefusal is the same rule for the library boundary', () => {
    expect(conntrackMarkRefusal({ value: 0x100, mask: 0xff00 })).toBeNull();
    expect(conntrackMarkRefusal({ value: 0, mask: 1 })).toBeNull();
    expect(conntrackMarkRefusal({ value: 0x1ff, mask: 0xff00 })).toMatch(/outside mask/);
    expect(conntrackMarkRefusal({ value: 0, mask: 0 })).toMatch(/mask 0/);
    expect(conntrackMarkRefusal({ value: -1, mask: 0xff })).toMatch(/0\.\.0xffffffff/);
    expect(conntrackMarkRefusal({ value: 1, mask: 2 ** 32 })).toMatch(/0\.\.0xffffffff/);
  });
});

const why = netnsUnavailable();
if (why) console.log(`conntrack-mark-exact: skipping the real-kernel part: ${why}`);

describe.skipIf(why !== null)('every conntrack kill path refuses an inexact mark and deletes nothing (own netns)', () => {
  const { ns, fd } = ctNamespace('mk');
  const N = 40;
  beforeEach(() => {
    native.ctFlushAll(fd());
    expect(fill(fd(), N)).toBe(N);
  });

  it('the addon: kernel mark flush, kernel-filtered dump', () => {
    expect(() => native.ctFlushMark(fd(), 0x1ff, 0xff00)).toThrow(badInput);
    expect(() => native.ctDump(fd(), new Uint8Array(new SharedArrayBuffer(64 * CT_STRIDE)), { mark: 0x1ff, mask: 0xff00 })).toThrow(badInput);
    expect(native.ctCount(fd())).toBe(N);
  });

  it('the backend: unscoped and zone/family-scoped kernel-filter kills, and the read filter', () => {
    for (const opts of [{}, { zone: 0 }, { af: 'inet' as const }]) {
      const be = new ConntrackBackend({ netns: ns, ...opts });
      try {
        expect(() => be.killByKernelFilter({ mark: 0x1ff, mask: 0xff00 })).toThrow(badInput);
        expect(() => be.killByKernelFilter({ mark: 0x100, mask: 0 })).toThrow(badInput);
      } finally {
        be.close();
      }
    }
    expect(() => new ConntrackBackend({ netns: ns, readFilter: { mark: { value: 0x1ff, mask: 0xff00 } } })).toThrow(badInput);
    expect(native.ctCount(fd())).toBe(N);
  });

  it('the library: plan and kill refuse before anything is deleted', async () => {
    const table = await openTable({ conntrack: { netns: ns } });
    try {
      await expect(table.kill([{ mark: { value: 0x1ff, mask: 0xff00 } }])).rejects.toThrow(badInput);
      await expect(table.kill([{ proto: 6, mark: { value: 0, mask: 0 } }])).rejects.toThrow(badInput);
    } finally {
      await table.close();
    }
    expect(native.ctCount(fd())).toBe(N);
  });

  for (const extra of [[], ['--zone', '0'], ['--zone', '0', '--kernel-filter'], ['--kernel-filter']]) {
    it(`the CLI: --mark 0x1ff/0xff00 ${extra.join(' ')} exits 2 and deletes nothing`, async () => {
      const r = await cli('kill', '--backend', 'conntrack', '--netns', ns, '--mark', '0x1ff/0xff00', ...extra);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(native.ctCount(fd())).toBe(N);
    });
  }
});
