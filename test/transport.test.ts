/** Which pf transport openTable picks, and that both give the same table. */
import { describe, expect, it } from 'vitest';
import { openTable } from '../src/index.js';

const FILE = new URL('./fixtures/small-table.jsonl', import.meta.url).pathname;

describe('pf transport choice', () => {
  it('auto: the ioctl read where the kernel has one (13, 14, 15 with COMPAT_FREEBSD14)', async () => {
    for (const [version, compat14] of [[13, false], [14, false], [15, true]] as const) {
      const t = await openTable({ sim: { file: FILE, version, compat14 } });
      expect(t.describe().paths.read).toMatch(/^DIOCGETSTATES/);
      expect((await t.snapshot()).count).toBe(8);
      await t.close();
    }
  });
  it('auto: netlink where the struct reads are gone (15 without COMPAT_FREEBSD14)', async () => {
    const t = await openTable({ sim: { file: FILE, version: 15 } });
    expect(t.describe()).toMatchObject({ transport: 'netlink', paths: { read: 'netlink GETSTATES' } });
    const { report } = await t.kill([{ gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }]);
    expect(report).toMatchObject({ selected: 2, paired: 1, killed: 3, failed: 0 });
    await t.close();
  });
  it('netlink asked of a kernel without the pfctl family (13.x) is an error, not a silent ioctl', async () => {
    await expect(openTable({ sim: { file: FILE, version: 13 }, transport: 'netlink' })).rejects.toMatchObject({ code: 'ENOENT' });
  });
  it('an unknown transport is bad input', async () => {
    await expect(openTable({ sim: { file: FILE }, transport: 'carrier-pigeon' as 'auto' })).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
  });
});
