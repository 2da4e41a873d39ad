/** `hook install|uninstall` against a temporary root: the exact files, modes, wrapping and restoring. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { HOOK_TARGETS } from '../src/hooks/targets.js';

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  try {
    return { code: await main(['node', 'statekill', ...args]), out: out.join('') };
  } finally {
    process.stdout.write = write;
  }
}

describe('hook install/uninstall', () => {
  it('OPNsense: writes one executable monitor syshook and removes it again', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sk-root-'));
    const dest = join(root, 'usr/local/etc/rc.syshook.d/monitor/90-statekill');
    const r = await run(['hook', 'install', 'opnsense', '--root', root, '--config', '/usr/local/etc/sk.yaml']);
    expect(r).toEqual({ code: 0, out: `wrote ${dest} (mode 755)\n` });
    expect(statSync(dest).mode & 0o777).toBe(0o755);
    const text = readFileSync(dest, 'utf8');
    expect(text).toContain('STATEKILL="/usr/local/bin/statekill"');
    expect(text).toContain('CONFIG="/usr/local/etc/sk.yaml"');
    expect(text).toContain('--status auto --after-reload /tmp/rules.debug');
    expect(text).not.toMatch(/@[A-Z]+@/);
    execFileSync('sh', ['-n', dest]); // valid sh
    expect(await run(['hook', 'uninstall', 'opnsense', '--root', root])).toEqual({ code: 0, out: `removed ${dest}\n` });
    expect(existsSync(dest)).toBe(false);
  });

  it("pfSense: wraps /etc/rc.gateway_alarm, keeps the original, and restores it byte for byte", async () => {
    const root = mkdtempSync(join(tmpdir(), 'sk-root-'));
    mkdirSync(join(root, 'etc'));
    const alarm = join(root, 'etc/rc.gateway_alarm');
    const orig = join(root, 'etc/rc.gateway_alarm.statekill-orig');
    writeFileSync(alarm, '#!/bin/sh\nGW="$1"\n/usr/local/sbin/pfSctl -c "filter reload"\n', { mode: 0o755 });
    const r = await run(['hook', 'install', 'pfsense', '--root', root]);
    expect(r.out).toBe(`moved ${alarm} to ${orig}\nwrote ${alarm} (mode 755)\n`);
    const text = readFileSync(alarm, 'utf8');
    expect(text).toContain('ORIGINAL="/etc/rc.gateway_alarm.statekill-orig"');
    expect(text).toContain('--status auto --alarm "$3" --sample "$4"');
    execFileSync('sh', ['-n', alarm]);
    // Installing twice does not wrap the wrapper.
    expect((await run(['hook', 'install', 'pfsense', '--root', root])).out).toBe(`wrote ${alarm} (mode 755)\n`);
    expect(readFileSync(orig, 'utf8')).toContain('pfSctl');
    expect((await run(['hook', 'uninstall', 'pfsense', '--root', root])).out).toBe(`removed ${alarm}\nrestored ${alarm} from ${orig}\n`);
    expect(readFileSync(alarm, 'utf8')).toBe('#!/bin/sh\nGW="$1"\n/usr/local/sbin/pfSctl -c "filter reload"\n');
    expect(existsSync(orig)).toBe(false);
  });

  it('the pfSense wrapper runs the original with dpinger\'s arguments, then statekill', () => {
    const root = mkdtempSync(join(tmpdir(), 'sk-root-'));
    mkdirSync(join(root, 'etc'));
    // Stand-ins: the original logs its arguments; daemon(8) runs its command in the foreground here.
    const log = join(root, 'calls.log');
    writeFileSync(join(root, 'etc/rc.gateway_alarm'), `#!/bin/sh\necho "orig $*" >> ${log}\n`, { mode: 0o755 });
    const fake = join(root, 'statekill');
    writeFileSync(fake, `#!/bin/sh\necho "statekill $*" >> ${log}\n`, { mode: 0o755 });
    return run(['hook', 'install', 'pfsense', '--root', root, '--bin', fake, '--log', join(root, 'sk.log')]).then(() => {
      const wrapper = readFileSync(join(root, 'etc/rc.gateway_alarm'), 'utf8')
        .replace('/usr/sbin/daemon -f ', '')
        .replace('ORIGINAL="/etc/', `ORIGINAL="${root}/etc/`);
      writeFileSync(join(root, 'wrapper.sh'), wrapper);
      execFileSync('sh', [join(root, 'wrapper.sh'), 'WAN_DHCP', '198.51.100.1', '1', '612000', '3000', '0']);
      const calls = readFileSync(log, 'utf8').trim().split('\n');
      expect(calls[0]).toBe('orig WAN_DHCP 198.51.100.1 1 612000 3000 0');
      expect(calls[1]).toMatch(/^statekill event --config \/usr\/local\/etc\/statekill\.yaml --gateway WAN_DHCP --status auto --alarm 1 --sample 612000 3000 0 --after-reload \/tmp\/rules\.debug --reload-since \d+$/);
    });
  });

  it('leaves files it did not write, and refuses unknown products with exit 2', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sk-root-'));
    mkdirSync(join(root, 'usr/local/etc/rc.syshook.d/monitor'), { recursive: true });
    const dest = join(root, 'usr/local/etc/rc.syshook.d/monitor/90-statekill');
    writeFileSync(dest, '#!/bin/sh\n# someone else\n');
    expect((await run(['hook', 'uninstall', 'opnsense', '--root', root])).out).toBe(`left ${dest}: not written by statekill\n`);
    expect(readFileSync(dest, 'utf8')).toBe('#!/bin/sh\n# someone else\n');
    expect((await run(['hook', 'install', 'vyos', '--root', root])).code).toBe(2);
  });

  it('targets are data: each has files with source, dest and mode', () => {
    for (const t of HOOK_TARGETS) for (const f of t.files) expect(existsSync(new URL(`../src/hooks/${f.source}`, import.meta.url))).toBe(true);
  });
});
