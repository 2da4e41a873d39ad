/**
 * Issue 10 item 1: `kill --kernel-filter --reply-dst <IPv6>` deleted every other IPv6 entry and kept
 * the target. The kernel's CTA_FILTER address compare for IPv6 is inverted (nf_conntrack_netlink.c,
 * ctnetlink_filter_match_tuple: `!ipv6_addr_cmp()` skips the equal address), so a kernel-filtered
 * delete is used only where a probe in a throwaway netns proves it exact; here that is dump + delete.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { ConntrackBackend } from '../src/backends/conntrack.js';
import { cli } from './cli-run.js';
import { ctNamespace, netnsUnavailable } from './conntrack-netns.js';
import { dumpAll, insertEntries, tupleKey, type EntrySpec } from './conntrack-fill.js';

const why = netnsUnavailable();
if (why) console.log(`conntrack-ipv6-kernel-filter: skipping: ${why}`);

const TARGET = '2001:db8:100::2'; // WAN1's masquerade address (NPTv6/NAT66-style)
const OTHERS = ['2001:db8:200::2', '2001:db8:100::3', '2001:db8:100::', '::1'];

/** 3 entries replying to TARGET, 2 to each other address, and IPv4 entries that must never be touched. */
function table(): EntrySpec[] {
  const out: EntrySpec[] = [];
  let port = 30000;
  for (const replyDst of [TARGET, TARGET, TARGET, ...OTHERS, ...OTHERS])
    out.push({ af: 6, proto: 6, src: 'fd00::10', dst: '2001:db8:99::80', srcPort: port, dstPort: 443, replyDst, replyDstPort: port++ });
  for (let i = 0; i < 4; i++)
    out.push({ af: 4, proto: 17, src: '10.0.0.10', dst: '192.0.2.53', srcPort: port, dstPort: 53, replyDst: '198.51.100.2', replyDstPort: port++ });
  return out;
}

describe.skipIf(why !== null)('kernel-filtered kill by IPv6 reply destination (real kernel, own netns)', () => {
  const { ns, fd } = ctNamespace('v6');
  beforeEach(() => {
    native.ctFlushAll(fd());
    insertEntries(fd(), table());
  });

  const expectOnlyTargetGone = (target: string) => {
    const want = table().filter((e) => e.replyDst !== target).map((e) => tupleKey({ zone: 0, ...e })).sort();
    const left = dumpAll(fd()).map((e) => tupleKey(e)).sort();
    expect(left).toEqual(want);
  };

  it('the library kills exactly the target IPv6 entries and says why it did not use the kernel filter', () => {
    const be = new ConntrackBackend({ netns: ns });
    try {
      const r = be.killByKernelFilter({ replyDst: TARGET });
      expect(r).toMatchObject({ killed: 3, failed: 0, removed: 3 });
      // On a kernel whose probe fails (6.18 does), the reason names the probe.
      if (r.path === 'dump+delete') expect(r.reason).toMatch(/probe/);
      expectOnlyTargetGone(TARGET);
    } finally {
      be.close();
    }
  });

  it('`kill --kernel-filter --reply-dst <IPv6>` kills exactly the target entries', async () => {
    const r = await cli('kill', '--backend', 'conntrack', '--netns', ns, '--kernel-filter', '--reply-dst', TARGET, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ killed: 3, failed: 0 });
    expectOnlyTargetGone(TARGET);
  });

  it('`--reply-dst ::` kills nothing (no entry replies to ::), instead of every IPv6 entry', async () => {
    const r = await cli('kill', '--backend', 'conntrack', '--netns', ns, '--kernel-filter', '--reply-dst', '::', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ killed: 0, failed: 0 });
    expect(dumpAll(fd())).toHaveLength(table().length);
  });

  it('an IPv4 reply destination still selects exactly (kernel path where its probe passes)', async () => {
    const r = await cli('kill', '--backend', 'conntrack', '--netns', ns, '--kernel-filter', '--reply-dst', '198.51.100.2', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ killed: 4, failed: 0 });
    expect(dumpAll(fd()).filter((e) => e.af === 4)).toHaveLength(0);
    expect(dumpAll(fd())).toHaveLength(table().length - 4);
  });

  it('the probe: proves the IPv4 and mark filters here, and catches the inverted IPv6 compare', () => {
    expect(native.ctProbeKernelFilter('mark', 0)).toBeNull();
    expect(native.ctProbeKernelFilter('replyDst', 4)).toBeNull();
    // A fixed kernel would pass; then the library uses the kernel path, and the tests above still hold.
    const v6 = native.ctProbeKernelFilter('replyDst', 6);
    if (v6 !== null) expect(v6).toMatch(/IPv6 reply destination selected the wrong entries.*kept 2001:db8:1::2/);
    expect(native.ctProbeKernelFilter('replyDst', 5 as 4)).toMatch(/af 4 or 6/);
    expect(native.ctProbeKernelFilter('status' as 'mark')).toMatch(/unknown/);
    // The caller's own table is never touched by a probe.
    expect(dumpAll(fd())).toHaveLength(table().length);
  });
});
