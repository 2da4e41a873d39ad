/** `statekill kill --backend conntrack` on the real kernel, in a namespace of the test's own. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { ROOT, cli } from './cli-run.js';
import { addNs, delAllNs, netnsUnavailable, nsName } from './conntrack-netns.js';
import { MASK, WAN1, dumpAll, fill, insertEntries } from './conntrack-fill.js';

const why = netnsUnavailable();
if (why) console.log(`conntrack CLI tests skipped: ${why}`);

describe.skipIf(why !== null)('kill --backend conntrack', () => {
  let ns = '';
  let fd = -1;
  const N = 2000; // entries alternate WAN1 (mark 0x1xx) and WAN2 (0x2xx)
  const mark = `0x${WAN1.mark.toString(16)}/0x${MASK.toString(16)}`;
  beforeAll(() => {
    ns = nsName('cli');
    addNs(ns);
    fd = native.ctOpen(ns);
  });
  afterAll(() => {
    if (fd >= 0) native.ctClose(fd);
    delAllNs();
  });

  for (const mode of [[], ['--kernel-filter']]) {
    it(`kills exactly WAN1's marked entries ${mode.length ? 'with the kernel filter' : 'by tuple'}`, async () => {
      native.ctFlushAll(fd);
      expect(fill(fd, N)).toBe(N);
      const dry = await cli('kill', '--backend', 'conntrack', '--netns', ns, '--mark', mark, '--dry-run', '--json');
      if (!mode.length) {
        expect(dry.code).toBe(0);
        expect(JSON.parse(dry.stdout)).toMatchObject({ selected: N / 2, killed: 0, dryRun: true });
        expect(JSON.parse(dry.stdout).states).toHaveLength(N / 2);
        expect(native.ctCount(fd)).toBe(N);
      }
      const r = await cli('kill', '--backend', 'conntrack', '--netns', ns, '--mark', mark, '--json', ...mode);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ killed: N / 2, failed: 0 });
      expect(native.ctCount(fd)).toBe(N / 2);
      // What is left is WAN2's, all of it.
      const left = await cli('list', '--backend', 'conntrack', '--netns', ns, '--mark', `0x${(0x200).toString(16)}/0x${MASK.toString(16)}`);
      expect(left.stdout.trim().split('\n')).toHaveLength(N / 2);
    });
  }

  it('--kernel-filter refuses what the kernel cannot filter, and dry runs', async () => {
    const a = await cli('kill', '--backend', 'conntrack', '--netns', ns, '--kernel-filter', '--mark', mark, '--proto', 'tcp');
    expect(a).toMatchObject({ code: 2, stdout: '' });
    expect(a.stderr).toMatch(/--kernel-filter takes exactly one of --mark or --reply-dst/);
    const b = await cli('kill', '--backend', 'conntrack', '--netns', ns, '--kernel-filter', '--mark', mark, '--dry-run');
    expect(b.code).toBe(2);
    const c = await cli('kill', '--sim', join(ROOT, 'test/fixtures/small-table.jsonl'), '--kernel-filter', '--gateway', '198.51.100.1');
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/applies to --backend conntrack/);
  });

  // Found by test/conntrack-property.test.ts (STATEKILL_SEED=3): a repeated --af of one family
  // ("--af inet6 --af inet6") reached the kernel-filter path as no family at all, so the kernel
  // flush deleted the other family's entries too.
  it('--kernel-filter keeps the family of a repeated --af (it deleted both families)', async () => {
    const entries = (['10.0.0.1', 'fd00::1'] as const).map((src) => ({
      af: src.includes(':') ? (6 as const) : (4 as const), proto: 6, src, dst: src.includes(':') ? '2001:db8::1' : '192.0.2.1',
      srcPort: 40000, dstPort: 443, mark: WAN1.mark, ...(src.includes(':') ? {} : { replyDst: WAN1.addr, replyDstPort: 2000 }),
    }));
    for (const [args, left] of [
      [['--mark', mark, '--af', 'inet', '--af', 'inet'], [6]],
      [['--mark', mark, '--af', 'inet6', '--af', 'inet6'], [4]],
      [['--mark', mark, '--af', 'inet', '--af', 'inet6'], []],
      [['--reply-dst', WAN1.addr, '--af', 'inet6', '--af', 'inet6'], [4, 6]],
      [['--reply-dst', WAN1.addr, '--af', 'inet', '--af', 'inet'], [6]],
    ] as const) {
      native.ctFlushAll(fd);
      insertEntries(fd, entries);
      const r = await cli('kill', '--backend', 'conntrack', '--netns', ns, ...args, '--kernel-filter', '--json');
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(dumpAll(fd).map((e) => e.af).sort(), args.join(' ')).toEqual(left);
      expect(JSON.parse(r.stdout).killed, args.join(' ')).toBe(2 - left.length);
    }
  });
});
