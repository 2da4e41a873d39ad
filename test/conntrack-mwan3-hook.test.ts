/**
 * The mwan3 hotplug script: which events trigger it, and the mark/mask it passes to statekill for
 * each interface (mwan3's numbering and bit spreading), with a stand-in `uci` and `statekill`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const HOOK = path.resolve(import.meta.dirname, '../src/hooks/mwan3/16-statekill');
const dir = mkdtempSync(path.join(tmpdir(), 'skct-mwan3-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// uci stand-in: answers `get mwan3.X`, `get mwan3.globals.mmx_mask`, `show mwan3` from env.
writeFileSync(path.join(dir, 'uci'), `#!/bin/sh
[ "$1" = -q ] && shift
case "$1 $2" in
  "show mwan3") for s in $FAKE_IFACES; do echo "mwan3.$s=interface"; echo "mwan3.$s.enabled='1'"; done; echo "mwan3.balanced=policy" ;;
  "get mwan3.globals.mmx_mask") [ -n "$FAKE_MASK" ] && echo "$FAKE_MASK" || exit 1 ;;
  "get mwan3."*) for s in $FAKE_IFACES; do [ "mwan3.$s" = "$2" ] && echo interface && exit 0; done; [ "$2" = mwan3.balanced ] && echo policy; exit 1 ;;
esac
`);
chmodSync(path.join(dir, 'uci'), 0o755);
const fakeStatekill = path.join(dir, 'statekill');
writeFileSync(fakeStatekill, `#!/bin/sh\necho "$@" >> "${dir}/calls"\n`);
chmodSync(fakeStatekill, 0o755);
const script = path.join(dir, '16-statekill');
writeFileSync(script, readFileSync(HOOK, 'utf8').replaceAll('@STATEKILL@', fakeStatekill).replaceAll('@LOG@', path.join(dir, 'log')));
chmodSync(script, 0o755);

function run(env: Record<string, string>): string | undefined {
  rmSync(path.join(dir, 'calls'), { force: true });
  execFileSync('/bin/sh', [script], {
    env: { PATH: `${dir}:/usr/bin:/bin`, MWAN3_STATUS_DIR: path.join(dir, 'run'), FAKE_IFACES: 'wan wanb lte', ...env },
  });
  const calls = path.join(dir, 'calls');
  return existsSync(calls) ? readFileSync(calls, 'utf8').trim() : undefined;
}

describe('mwan3 hotplug hook', () => {
  it('kills by the interface mark under the default mask on disconnected and ifdown', () => {
    expect(run({ ACTION: 'disconnected', INTERFACE: 'wan' })).toBe('kill --backend conntrack --mark 0x100/0x3f00 --kernel-filter --json');
    expect(run({ ACTION: 'ifdown', INTERFACE: 'wanb' })).toBe('kill --backend conntrack --mark 0x200/0x3f00 --kernel-filter --json');
    expect(run({ ACTION: 'disconnected', INTERFACE: 'lte' })).toBe('kill --backend conntrack --mark 0x300/0x3f00 --kernel-filter --json');
  });

  it('does nothing on other events or for interfaces mwan3 does not manage', () => {
    for (const a of ['ifup', 'connected', 'disconnecting', 'ifupdate']) expect(run({ ACTION: a, INTERFACE: 'wan' })).toBeUndefined();
    expect(run({ ACTION: 'disconnected', INTERFACE: 'lan' })).toBeUndefined();
    expect(run({ ACTION: 'disconnected', INTERFACE: 'balanced' })).toBeUndefined();
    expect(run({ ACTION: 'disconnected' })).toBeUndefined();
  });

  it('uses the configured mask, spreading the id over its set bits', () => {
    expect(run({ ACTION: 'disconnected', INTERFACE: 'lte', FAKE_MASK: '0xff00' })).toBe('kill --backend conntrack --mark 0x300/0xff00 --kernel-filter --json');
    // id 3 = 0b11 over mask 0xaa00 (bits 9, 11, 13, 15) -> bits 9 and 11
    expect(run({ ACTION: 'disconnected', INTERFACE: 'lte', FAKE_MASK: '0xAA00' })).toBe('kill --backend conntrack --mark 0xa00/0xaa00 --kernel-filter --json');
  });

  it("prefers mwan3's runtime mask file over the config", () => {
    mkdirSync(path.join(dir, 'run'), { recursive: true });
    writeFileSync(path.join(dir, 'run', 'mmx_mask'), '0x0F00\n');
    try {
      expect(run({ ACTION: 'ifdown', INTERFACE: 'wanb', FAKE_MASK: '0xff00' })).toBe('kill --backend conntrack --mark 0x200/0xf00 --kernel-filter --json');
    } finally {
      rmSync(path.join(dir, 'run'), { recursive: true, force: true });
    }
  });
});
