/**
 * `hook install|uninstall|status` against a temporary root, and every hook script run with sh in a
 * fake environment (fake daemon, logger, statekill, mwan3 functions on PATH / under a fake root):
 * the exact files and modes, idempotent reinstall, and hostile values and names as data.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-capture.js';
import { fillTemplate, shellQuote } from '../src/hooks/install.js';
import { HOOK_TARGETS } from '../src/hooks/targets.js';

const CONFIG_TEXT = 'gateways:\n  - { name: WAN1, interface: igb0, address: 198.51.100.1 }\n';

const run = runCli;

function exe(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/** A root with the statekill binary and config in place, and a bin/ of fakes for running hooks. */
function fakeRoot(config = '/usr/local/etc/statekill.yaml') {
  const root = mkdtempSync(join(tmpdir(), 'sk-root-'));
  const calls = join(root, 'calls');
  // statekill records its argv NUL-separated, one call per line.
  exe(join(root, 'usr/local/bin/statekill'), `#!/bin/sh\nprintf '%s\\0' "$@" >> '${calls}'\nprintf '\\n' >> '${calls}'\n`);
  mkdirSync(join(root, 'usr/local/etc'), { recursive: true });
  writeFileSync(join(root, config), CONFIG_TEXT);
  const bin = join(root, 'fakebin');
  exe(join(bin, 'daemon'), '#!/bin/sh\n[ "$1" = -f ] && shift\nexec "$@"\n');
  exe(join(bin, 'logger'), `#!/bin/sh\nprintf 'logger %s ' "$*" >> '${root}/syslog'\ncat >> '${root}/syslog' 2>/dev/null || true\necho >> '${root}/syslog'\n`);
  return {
    root,
    /** Runs an installed hook as the firewall would, with the binary path rewritten into the fake root. */
    hook(rel: string, args: string[], env: Record<string, string> = {}) {
      const text = readFileSync(join(root, rel), 'utf8').replace(/^STATEKILL='(.*)'$/m, (_m, p: string) => `STATEKILL='${root}${p}'`);
      const file = join(root, 'run-hook.sh');
      writeFileSync(file, text);
      return spawnSync('sh', [file, ...args], { env: { PATH: `${bin}:/usr/bin:/bin`, ...env }, encoding: 'utf8' });
    },
    calls(): string[][] {
      if (!existsSync(calls)) return [];
      return readFileSync(calls, 'utf8').split('\0\n').filter(Boolean).map((c) => c.split('\0'));
    },
    syslog: () => (existsSync(join(root, 'syslog')) ? readFileSync(join(root, 'syslog'), 'utf8') : ''),
  };
}

const OPN_MONITOR = 'usr/local/etc/rc.syshook.d/monitor/90-statekill';
const OPN_CARP = 'usr/local/etc/rc.syshook.d/carp/90-statekill';
const PF_PLUGIN = 'usr/local/pkg/pf/statekill.sh';
const MWAN3 = 'etc/hotplug.d/iface/16-statekill';

const HOSTILE = ['WAN1"; touch /tmp/sk-pwned-q; "', '$(touch /tmp/sk-pwned-s)', '`touch /tmp/sk-pwned-b`', 'WAN1\nWAN2', '-rf', "it's", '$&$`'];

describe('hook install/uninstall/status', () => {
  it('OPNsense: writes the monitor and carp syshooks, checks binary and config, reinstalls idempotently, uninstalls', async () => {
    const f = fakeRoot();
    const r = await run(['hook', 'install', 'opnsense', '--root', f.root]);
    expect(r).toEqual({ code: 0, err: '', out: `wrote ${join(f.root, OPN_MONITOR)} (mode 755)\nwrote ${join(f.root, OPN_CARP)} (mode 755)\n` });
    const text = readFileSync(join(f.root, OPN_MONITOR), 'utf8');
    expect(text).toContain("STATEKILL='/usr/local/bin/statekill'");
    expect(text).toContain("CONFIG='/usr/local/etc/statekill.yaml'");
    expect(text).toContain('--after-filter-lock=/tmp/rules.debug');
    expect(text).not.toMatch(/@[A-Z]+@/);
    expect(statSync(join(f.root, OPN_MONITOR)).mode & 0o777).toBe(0o755);
    execFileSync('sh', ['-n', join(f.root, OPN_MONITOR)]);
    const before = readFileSync(join(f.root, OPN_MONITOR));
    expect((await run(['hook', 'install', 'opnsense', '--root', f.root])).code).toBe(0);
    expect(readFileSync(join(f.root, OPN_MONITOR))).toEqual(before);
    const st = await run(['hook', 'status', 'opnsense', '--root', f.root]);
    expect(st).toMatchObject({ code: 0, err: '' });
    expect(st.out).toBe(
      `${join(f.root, OPN_MONITOR)}: installed (mode 755), runs /usr/local/bin/statekill with config /usr/local/etc/statekill.yaml: binary and config OK\n` +
        `${join(f.root, OPN_CARP)}: installed (mode 755), runs /usr/local/bin/statekill with config /usr/local/etc/statekill.yaml: binary and config OK\n`,
    );
    expect((await run(['hook', 'uninstall', 'opnsense', '--root', f.root])).out).toBe(`removed ${join(f.root, OPN_MONITOR)}\nremoved ${join(f.root, OPN_CARP)}\n`);
    expect((await run(['hook', 'uninstall', 'opnsense', '--root', f.root])).out).toBe(`nothing to remove for opnsense under ${f.root}\n`);
    const gone = await run(['hook', 'status', 'opnsense', '--root', f.root]);
    expect(gone).toEqual({ code: 1, err: '', out: `${join(f.root, OPN_MONITOR)}: not installed\n${join(f.root, OPN_CARP)}: not installed\n` });
  });

  it('a pf hook installs only where `statekill doctor` passes (--doctor; the default on root /), never for mwan3', async () => {
    const f = fakeRoot();
    const bin = join(f.root, 'usr/local/bin/statekill');
    // The installed binary as doctor: failing with a named reason, as `statekill doctor --json` does.
    exe(bin, `#!/bin/sh\n[ "$1" = doctor ] || exit 0\necho '{"ok":false,"reasons":["read: 3 states read, the kernel counts 900"]}'\nexit 1\n`);
    const refused = await run(['hook', 'install', 'pfsense', '--root', f.root, '--doctor']);
    expect(refused).toMatchObject({ code: 2, out: '' });
    expect(refused.err).toBe('statekill: hook: not installed: statekill doctor failed on this box (exit 1): read: 3 states read, the kernel counts 900 (--force installs anyway)\n');
    expect(existsSync(join(f.root, PF_PLUGIN))).toBe(false);
    // A staging root is not the box the hook runs on: no doctor unless asked.
    expect((await run(['hook', 'install', 'pfsense', '--root', f.root])).code).toBe(0);
    const forced = await run(['hook', 'install', 'opnsense', '--root', f.root, '--doctor', '--force']);
    expect(forced.out.split('\n')[0]).toBe('warning: statekill doctor failed on this box (exit 1): read: 3 states read, the kernel counts 900');
    expect((await run(['hook', 'install', 'mwan3', '--root', f.root, '--doctor'])).code).toBe(0);
    // The mwan3 hook passes no config: its status checks the binary alone and says so.
    expect((await run(['hook', 'status', 'mwan3', '--root', f.root])).out)
      .toBe(`${join(f.root, MWAN3)}: installed (mode 755), runs /usr/local/bin/statekill: binary OK\n`);
    exe(bin, '#!/bin/sh\n[ "$1" = doctor ] && echo \'{"ok":true,"reasons":[]}\'\nexit 0\n');
    expect((await run(['hook', 'install', 'opnsense', '--root', f.root, '--doctor'])).code).toBe(0);
  });

  it('install refuses a missing binary or a bad config (unless --force), an empty or relative --root, and foreign files', async () => {
    const f = fakeRoot();
    const nobin = await run(['hook', 'install', 'opnsense', '--root', f.root, '--bin', '/opt/none/statekill']);
    expect(nobin).toMatchObject({ code: 2, out: '' });
    expect(nobin.err).toBe(`statekill: hook: not installed: ${join(f.root, '/opt/none/statekill')} is missing or not executable (--force installs anyway)\n`);
    writeFileSync(join(f.root, 'usr/local/etc/bad.yaml'), 'gateways: []\n');
    expect((await run(['hook', 'install', 'opnsense', '--root', f.root, '--config', '/usr/local/etc/bad.yaml'])).err)
      .toBe('statekill: hook: not installed: config: gateways: expected at least one gateway (--force installs anyway)\n');
    const forced = await run(['hook', 'install', 'opnsense', '--root', f.root, '--bin', '/opt/none/statekill', '--force']);
    expect(forced.out.split('\n')[0]).toBe(`warning: ${join(f.root, '/opt/none/statekill')} is missing or not executable`);
    const st = await run(['hook', 'status', 'opnsense', '--root', f.root]);
    expect(st.code).toBe(1);
    expect(st.out).toContain(`runs /opt/none/statekill with config /usr/local/etc/statekill.yaml: ${join(f.root, '/opt/none/statekill')} is missing or not executable`);
    // #10 item 21: '' would install relative to the working directory.
    expect((await run(['hook', 'install', 'opnsense', '--root', ''])).err).toBe("statekill: hook: --root must be an absolute directory, got ''\n");
    expect((await run(['hook', 'uninstall', 'opnsense', '--root', 'rel/dir'])).err).toBe("statekill: hook: --root must be an absolute directory, got 'rel/dir'\n");
    // Someone else's file is never replaced or removed.
    const g = fakeRoot();
    mkdirSync(join(g.root, 'usr/local/etc/rc.syshook.d/monitor'), { recursive: true });
    writeFileSync(join(g.root, OPN_MONITOR), '#!/bin/sh\n# someone else\n');
    expect((await run(['hook', 'install', 'opnsense', '--root', g.root])).err).toBe(`statekill: hook: ${join(g.root, OPN_MONITOR)} exists and is not statekill's; not replaced\n`);
    expect((await run(['hook', 'uninstall', 'opnsense', '--root', g.root])).out).toBe(`left ${join(g.root, OPN_MONITOR)}: not written by statekill\n`);
    expect(readFileSync(join(g.root, OPN_MONITOR), 'utf8')).toBe('#!/bin/sh\n# someone else\n');
    expect((await run(['hook', 'install', 'vyos', '--root', g.root])).code).toBe(2);
  });

  it('a root where the hook directories cannot be made (/proc) is refused naming the directory, never a hang', () => {
    const bin = new URL('../bin/statekill.js', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [bin, 'hook', 'install', 'opnsense', '--root', '/proc', '--force', '--no-doctor'], { encoding: 'utf8', timeout: 15_000, killSignal: 'SIGKILL' });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('statekill: hook: cannot create directory /proc/usr: ENOENT\n');
  }, 30_000);

  it('pfSense: installs the upgrade-safe filter plugin, migrates the old rc.gateway_alarm wrapper, and reinstalls after an upgrade', async () => {
    const f = fakeRoot();
    // An earlier statekill wrapped /etc/rc.gateway_alarm and kept pfSense's original aside.
    mkdirSync(join(f.root, 'etc'));
    const original = '#!/bin/sh\nGW="$1"\n/usr/local/sbin/pfSctl -c "filter reload"\n';
    writeFileSync(join(f.root, 'etc/rc.gateway_alarm.statekill-orig'), original);
    writeFileSync(join(f.root, 'etc/rc.gateway_alarm'), '#!/bin/sh\n# statekill-hook: old wrapper\n');
    const r = await run(['hook', 'install', 'pfsense', '--root', f.root]);
    expect(r.out).toBe(`wrote ${join(f.root, PF_PLUGIN)} (mode 755)\nrestored ${join(f.root, 'etc/rc.gateway_alarm')} from ${join(f.root, 'etc/rc.gateway_alarm.statekill-orig')} (an earlier statekill's wrapper)\n`);
    expect(readFileSync(join(f.root, 'etc/rc.gateway_alarm'), 'utf8')).toBe(original);
    const plugin = readFileSync(join(f.root, PF_PLUGIN));
    // A pfSense upgrade rewrites its own files (/etc) and leaves /usr/local/pkg alone; running
    // install again (the documented step) changes nothing and reports the same.
    writeFileSync(join(f.root, 'etc/rc.gateway_alarm'), original.replace('reload', 'reload # 2.8.1'));
    const again = await run(['hook', 'install', 'pfsense', '--root', f.root]);
    expect(again).toEqual({ code: 0, err: '', out: `wrote ${join(f.root, PF_PLUGIN)} (mode 755)\n` });
    expect(readFileSync(join(f.root, PF_PLUGIN))).toEqual(plugin);
    expect(readFileSync(join(f.root, 'etc/rc.gateway_alarm'), 'utf8')).toContain('# 2.8.1');
    expect((await run(['hook', 'status', 'pfsense', '--root', f.root])).code).toBe(0);
    expect((await run(['hook', 'uninstall', 'pfsense', '--root', f.root])).out).toBe(`removed ${join(f.root, PF_PLUGIN)}\n`);
  });

  it('targets are data: each has files with source, dest and mode', () => {
    for (const t of HOOK_TARGETS) for (const f of t.files) expect(existsSync(new URL(`../src/hooks/${f.source}`, import.meta.url))).toBe(true);
  });
});

describe('installed values are data (#10 item 16)', () => {
  it('quotes for sh and fills templates without replacement patterns', () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
    expect(fillTemplate('X=@A@ Y=@B@', { A: '$&', B: "$`'" })).toBe("X=$& Y=$`'");
    expect(() => fillTemplate('@NOPE@', {})).toThrow('unknown token @NOPE@');
  });

  it('a hostile --config path and --bin are installed verbatim, run as one argument each, and execute nothing', async () => {
    const cfg = "/usr/local/etc/cfg$(touch sk-pwned-c)'$&`x`.yaml";
    const f = fakeRoot(cfg);
    const r = await run(['hook', 'install', 'opnsense', '--root', f.root, '--config', cfg]);
    expect(r.code).toBe(0);
    execFileSync('sh', ['-n', join(f.root, OPN_MONITOR)]);
    const h = f.hook(OPN_MONITOR, ['WAN1']);
    expect(h.status).toBe(0);
    const [call] = f.calls();
    expect(call.slice(0, 4)).toEqual(['event', `--config=${cfg}`, '--gateway=WAN1', '--syslog']);
    expect(existsSync('sk-pwned-c')).toBe(false);
    expect((await run(['hook', 'status', 'opnsense', '--root', f.root])).out).toContain(`with config ${cfg}: binary and config OK`);
  });

  it.each(HOSTILE)('gateway name %j through the OPNsense, pfSense and carp hooks is one argument, never code or an option', async (name) => {
    const f = fakeRoot();
    await run(['hook', 'install', 'opnsense', '--root', f.root]);
    await run(['hook', 'install', 'pfsense', '--root', f.root]);
    expect(f.hook(OPN_MONITOR, [name]).status).toBe(0);
    expect(f.hook(OPN_CARP, [`1@${name}`, 'MASTER']).status).toBe(0);
    expect(f.hook(PF_PLUGIN, ['start', name]).status).toBe(0);
    const calls = f.calls();
    expect(calls.map((c) => c.slice(0, 4))).toEqual([
      ['event', '--config=/usr/local/etc/statekill.yaml', `--gateway=${name}`, '--syslog'],
      ['event', '--config=/usr/local/etc/statekill.yaml', '--all', '--syslog'],
      ['event', '--config=/usr/local/etc/statekill.yaml', '--all', '--syslog'],
    ]);
    expect(calls[0][4]).toBe('--after-filter-lock=/tmp/rules.debug');
    expect(calls[2][4]).toBe('--after-reload-status=/var/run/filter_reload_status');
    // The plugin runs inside the reload; "Done" follows before statekill is up (filter.inc).
    expect(calls[2][6]).toBe('--during-reload');
    for (const p of ['q', 's', 'b']) expect(existsSync(`/tmp/sk-pwned-${p}`)).toBe(false);
  });

  it('the real CLI takes such a name as data: logged (escaped) and skipped, the known one acted on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-hostile-'));
    writeFileSync(join(dir, 'c.yaml'), 'gateways:\n  - { name: WAN1, interface: igb0, address: 198.51.100.1 }\n  - { name: WAN2, interface: igb1, address: 203.0.113.1 }\ngroups:\n  - { name: G, members: [ { gateway: WAN1, tier: 1 }, { gateway: WAN2, tier: 2 } ] }\n');
    const r = await run(['event', `--gateway=-rf,WAN1\n$(id),WAN1`, '--status', 'down', '--gateway-status', 'WAN2=up', '--config', join(dir, 'c.yaml'),
      '--sim', new URL('./fixtures/policy/dual-wan.jsonl', import.meta.url).pathname, '--state', join(dir, 's.json'), '--no-wait', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.err).toBe("warn: event names gateway '-rf', which is not in the config: skipped\nwarn: event names gateway 'WAN1\\x0a$(id)', which is not in the config: skipped\n");
    expect(r.out.split('\n')[0]).toBe('killing states of gateway WAN1: down under group G (trigger down); failover target WAN2 (WAN2: up)');
  });
});

describe('hooks at run time', () => {
  it('a missing statekill binary is logged to syslog, not a silent exit 0', async () => {
    const f = fakeRoot();
    await run(['hook', 'install', 'opnsense', '--root', f.root]);
    await run(['hook', 'install', 'mwan3', '--root', f.root]);
    const text = readFileSync(join(f.root, OPN_MONITOR), 'utf8').replace(/^STATEKILL='.*'$/m, "STATEKILL='/nonexistent/statekill'");
    writeFileSync(join(f.root, 'h.sh'), text);
    const r = spawnSync('sh', [join(f.root, 'h.sh'), 'WAN1'], { env: { PATH: `${join(f.root, 'fakebin')}:/usr/bin:/bin` }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(f.syslog()).toContain('logger -t statekill -p daemon.err hook ');
    expect(f.syslog()).toContain('/nonexistent/statekill is missing or not executable: gateway alarm not handled');
  });

  it('the OPNsense monitor hook passes the alarm time to the millisecond (PHP is there), else whole seconds', async () => {
    // A whole-second time cannot order a reload that ends within that second (a fast box, a small
    // ruleset): the event then waited the full timeout and logged "no ruleset reload seen".
    const f = fakeRoot();
    await run(['hook', 'install', 'opnsense', '--root', f.root]);
    exe(join(f.root, 'fakebin', 'php'), '#!/bin/sh\nprintf 1796290325.250\n');
    f.hook(OPN_MONITOR, ['WAN1']);
    rmSync(join(f.root, 'fakebin', 'php'));
    f.hook(OPN_MONITOR, ['WAN1']);
    const since = f.calls().map((c) => c.find((a) => a.startsWith('--reload-since=')));
    expect(since[0]).toBe('--reload-since=1796290325.250');
    expect(since[1]).toMatch(/^--reload-since=\d{10}$/);
  });

  it('the OPNsense carp hook re-checks only when this node becomes MASTER', async () => {
    const f = fakeRoot();
    await run(['hook', 'install', 'opnsense', '--root', f.root]);
    f.hook(OPN_CARP, ['1@igb0', 'BACKUP']);
    f.hook(OPN_CARP, ['1@igb0', 'INIT']);
    expect(f.calls()).toEqual([]);
    f.hook(OPN_CARP, ['1@igb0', 'MASTER']);
    expect(f.calls()).toEqual([['event', '--config=/usr/local/etc/statekill.yaml', '--all', '--syslog']]);
  });

  /** mwan3's own functions, as stand-ins: the hook must use what they compute, not its own arithmetic. */
  function mwan3Root() {
    const f = fakeRoot();
    const lib = join(f.root, 'lib');
    mkdirSync(join(lib, 'mwan3'), { recursive: true });
    writeFileSync(join(lib, 'functions.sh'), 'config_get_bool() { eval "$1=\\${FAKE_ENABLED_$2:-1}"; }\n');
    writeFileSync(join(lib, 'mwan3/mwan3.sh'), [
      'mwan3_init() { MMX_MASK=0x3F00; }',
      'mwan3_get_iface_id() { case "$2" in wan) export "$1=1" ;; wanb) export "$1=2" ;; *) export "$1=" ;; esac; }',
      // A distinctive answer: proves the hook prints what mwan3_id2mask says.
      'mwan3_id2mask() { eval "printf \'0x%x\' \\$(( \\$$1 * 0x100 + 0x5 ))"; }',
      '',
    ].join('\n'));
    // procd's `running` verb, as 15-mwan3 asks it; FAKE_MWAN3_STOPPED=1: mwan3 is not running.
    exe(join(f.root, 'etc/init.d/mwan3'), '#!/bin/sh\n[ "$1" = running ] && [ "$FAKE_MWAN3_STOPPED" != 1 ]\n');
    return f;
  }

  it('mwan3: disconnected kills by the mark mwan3 computes; restart/shutdown events and other actions kill nothing', async () => {
    const f = mwan3Root();
    expect((await run(['hook', 'install', 'mwan3', '--root', f.root])).code).toBe(0);
    const env = { IPKG_INSTROOT: f.root };
    const fx = JSON.parse(readFileSync(new URL('./fixtures/policy/mwan3-hotplug-env.json', import.meta.url), 'utf8'));
    // mwan3 stop (restart, uci commit mwan3): disconnected with MWAN3_SHUTDOWN=1 for each online interface.
    for (const e of fx.mwan3Stop) expect(f.hook(MWAN3, [], { ...env, ...e }).status).toBe(0);
    for (const e of [fx.trackerConnected, fx.firstConnect]) f.hook(MWAN3, [], { ...env, ...e });
    for (const action of ['ifup', 'connecting', 'disconnecting']) f.hook(MWAN3, [], { ...env, ACTION: action, INTERFACE: 'wan' });
    expect(f.calls()).toEqual([]);
    f.hook(MWAN3, [], { ...env, ...fx.trackerDisconnected });
    expect(f.calls()).toEqual([['kill', '--backend', 'conntrack', '--mark=0x205/0x3f00', '--kernel-filter', '--json']]);
    f.hook(MWAN3, [], { ...env, ...fx.netifdIfdown });
    expect(f.calls()).toHaveLength(2);
    expect(f.syslog()).toContain('mwan3 disconnected on wanb: killing conntrack entries with mark 0x205/0x3f00');
    // A disabled interface, one mwan3 does not know, and hostile names kill nothing.
    f.hook(MWAN3, [], { ...env, ACTION: 'ifdown', INTERFACE: 'wan', FAKE_ENABLED_wan: '0' });
    f.hook(MWAN3, [], { ...env, ACTION: 'ifdown', INTERFACE: 'lan' });
    for (const name of HOSTILE) f.hook(MWAN3, [], { ...env, ACTION: 'ifdown', INTERFACE: name });
    expect(f.calls()).toHaveLength(2);
    // mwan3 stopped (or disabled): its marks mean nothing now, and another user of those bits may
    // carry them; 15-mwan3 does nothing then either (`/etc/init.d/mwan3 running`).
    f.hook(MWAN3, [], { ...env, ...fx.netifdIfdown, FAKE_MWAN3_STOPPED: '1' });
    expect(f.calls()).toHaveLength(2);
  });
});
