/** `statekill event` from the command line against a simulated table (--sim), text and JSON output, exit codes. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-capture.js';

const FIXTURE = new URL('./fixtures/policy/dual-wan.jsonl', import.meta.url).pathname;
const CONFIG = new URL('./fixtures/policy/dual-wan.yaml', import.meta.url).pathname;

const run = (args: string[]) => runCli(['event', ...args]);

describe('statekill event', () => {
  it('decides, logs the reason and kills in the simulated table', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'sk-ev-')), 'state.json');
    const r = await run(['--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', CONFIG, '--sim', FIXTURE, '--state', state, '--no-wait']);
    expect(r).toEqual({
      code: 0,
      err: '',
      out: 'killing states of gateway WAN1: down under group FAILOVER (trigger down), group BACKUP_FIRST (trigger down); failover target WAN2 (WAN2: up)\n' +
        'WAN1: killed 4 states (selected 4, paired 0, ambiguous 0, already gone 0, failed 0)\n',
    });
    expect(JSON.parse(readFileSync(state, 'utf8')).gateways.WAN1).toMatchObject({ failed: true, status: { state: 'down' } });
    // The same event again: nothing new (the state file remembers).
    const again = await run(['--gateway', 'WAN1', '--status', 'down', '--config', CONFIG, '--sim', FIXTURE, '--state', state, '--no-wait']);
    expect(again.out).toMatch(/^no state kill for gateway WAN1: already failed since .*; nothing new to do\n$/);
  });

  it('--json prints decisions and reports; --dry-run kills nothing', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'sk-ev-')), 'state.json');
    const r = await run(['--gateway', 'WAN2', '--status', 'auto', '--sample', '0 0 100', '--gateway-status', 'WAN1=up', '--config', CONFIG, '--sim', FIXTURE, '--state', state, '--dry-run', '--json', '--no-wait']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.decisions.map((d: { action: string; reason: string }) => `${d.action}: ${d.reason}`)).toEqual([
      'kill: killing states of gateway WAN2: Offline (100% loss) under group FAILOVER (trigger down), group BACKUP_FIRST (trigger down); failover target WAN1 (WAN1: up)',
    ]);
    expect(j.outcomes[0].reports[0]).toMatchObject({ dryRun: true, selected: 7, paired: 1, killed: 0 });
    expect(r.err).toContain('WAN2: would kill 8 states (selected 7, paired 1, ambiguous 0, already gone 0, failed 0)\n');
  });

  it('bad input exits 2 naming what is wrong', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'sk-ev-')), 'state.json');
    const base = ['--config', CONFIG, '--sim', FIXTURE, '--state', state, '--no-wait'];
    expect(await run(['--gateway', 'WAN9', '--status', 'down', ...base])).toEqual({ code: 2, out: '', err: "statekill: event: gateway 'WAN9' is not in the config's gateways\n" });
    expect((await run(['--status', 'down', ...base])).err).toBe('statekill: event: give --gateway NAME[,NAME] or --all\n');
    expect((await run(['--gateway', 'WAN1', '--all', ...base])).err).toBe('statekill: event: --all and --gateway exclude each other\n');
    // With --all the statuses come from the firewall: a word, sample or alarm flag for no one was ignored (exit 0, nothing done).
    for (const extra of [['--status', 'down'], ['--sample', '0 0 100'], ['--alarm', '1']])
      expect(await run(['--all', ...extra, ...base])).toEqual({ code: 2, out: '',
        err: 'statekill: event: --status, --sample and --alarm describe the gateways named by --gateway; with --all each status comes from the firewall\n' });
    expect((await run(['--gateway', 'WAN1', '--reload-since', '12x', '--after-reload', '/tmp/x', ...base])).err).toBe("statekill: --reload-since: expected seconds since the epoch, got '12x'\n");
    expect((await run(['--gateway', 'WAN1', '--status', 'sideways', ...base])).err).toBe("statekill: status: 'sideways' is not one of up, none, down, force_down, delay, loss, delay+loss, disabled, unknown\n");
    expect((await run(['--gateway', 'WAN1', '--status', 'auto', '--sample', 'x', ...base])).code).toBe(2);
    // No socket to read: no data, so nothing is decided for it (never a guess, never a stack trace).
    const none = await run(['--gateway', 'WAN1', '--status', 'auto', ...base]);
    expect(none).toMatchObject({ code: 0, out: '' });
    expect(none.err).toMatch(/^warn: no state kill for gateway WAN1: no status data \(no dpinger socket for gateway WAN1 in \/var\/run\) and none is remembered\n$/);
  });

  it('where the states are is one of --sim, --device, --backend conntrack: a second one is refused, not ignored', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'sk-ev-')), 'state.json');
    const event = ['--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', CONFIG, '--state', state, '--no-wait'];
    // --backend conntrack was dropped for the --sim table: a pf kill, with a config conntrack refuses.
    for (const [extra, err] of [
      [['--sim', FIXTURE, '--backend', 'conntrack'], 'statekill: --sim is a pf table; --backend conntrack reads the running kernel\n'],
      [['--sim', FIXTURE, '--device', '/dev/pf'], 'statekill: --sim and --device exclude each other\n'],
      [['--backend', 'conntrack', '--device', '/dev/pf'], 'statekill: --device is pf\'s; --backend conntrack reads the running kernel\n'],
    ] as const) {
      expect(await run([...event, ...extra])).toEqual({ code: 2, out: '', err });
      expect(await runCli(['watch', '--config', CONFIG, ...extra])).toEqual({ code: 2, out: '', err });
    }
  });

  it('a kill that fails exits 1', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'sk-ev-')), 'state.json');
    const r = await run(['--gateway', 'WAN1', '--status', 'down', '--gateway-status', 'WAN2=up', '--config', CONFIG, '--device', '/nonexistent/pf', '--state', state, '--no-wait']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: WAN1: state kill failed: /m);
  });
});
