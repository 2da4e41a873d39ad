/** `statekill event`: one gateway event, for hook scripts and by hand. */
import type { Command } from 'commander';
import { badInput } from '../errors.js';
import { loadConfig } from '../policy/config.js';
import { engineKiller, tableTarget } from '../policy/engine-killer.js';
import { anyKillFailed, type PolicyLog } from '../policy/execute.js';
import { killerForTarget } from '../policy/conntrack.js';
import { runEvent } from '../policy/event-runner.js';
import { parseDpingerLine, STATUS_WORDS } from '../policy/status.js';
import { ExitCode } from './main.js';

export const DEFAULT_CONFIG = '/usr/local/etc/statekill.yaml';

function collect(v: string, acc: string[]) {
  return [...acc, v];
}

export function register(program: Command): void {
  program
    .command('event')
    .description('apply the failover policy to one gateway event, then kill what it decides')
    .requiredOption('--gateway <names>', 'gateway name (comma-separated for several)')
    .requiredOption('--status <word>', `${STATUS_WORDS.join('|')}|auto (auto: from --sample/--alarm or the gateway's dpinger socket)`)
    .option('--sample <text>', 'dpinger sample "LATENCY_US STDDEV_US LOSS_PERCENT"')
    .option('--alarm <flag>', "dpinger's alarm flag (0 or 1)")
    .option('--gateway-status <name=status>', 'a known status of another gateway (repeatable)', collect, [])
    .option('--config <file>', 'policy config (YAML or JSON)', DEFAULT_CONFIG)
    .option('--state <file>', 'policy memory file (default: the config stateFile)')
    .option('--sim <file>', 'kill in a simulated pf table (JSON Lines) instead of the kernel')
    .option('--device <path>', 'pf device', '/dev/pf')
    .option('--backend <name>', 'conntrack for Linux')
    .option('--dry-run', 'plan and report, kill nothing')
    .option('--json', 'print decisions and reports as JSON')
    .option('--after-reload <file>', 'wait until this file is rewritten by the ruleset reload before killing')
    .option('--reload-since <epoch>', 'the reload counts from this time (seconds since the epoch)')
    .option('--no-wait', 'do not stay for hold-down re-checks')
    .action(async (o) => {
      const config = loadConfig(o.config);
      const target = tableTarget(o);
      const killer = killerForTarget(target, engineKiller(target, { dryRun: !!o.dryRun }), () => config);
      let sample;
      if (o.sample !== undefined) {
        sample = parseDpingerLine(String(o.sample));
        if (!sample) throw badInput(`--sample: expected "LATENCY_US STDDEV_US LOSS_PERCENT", got '${o.sample}'`);
      }
      if (o.alarm !== undefined && o.alarm !== '0' && o.alarm !== '1') throw badInput(`--alarm: expected 0 or 1, got '${o.alarm}'`);
      const others: Record<string, string> = {};
      for (const kv of o.gatewayStatus as string[]) {
        const m = kv.match(/^([^=]+)=(.+)$/);
        if (!m) throw badInput(`--gateway-status: expected NAME=STATUS, got '${kv}'`);
        others[m[1]] = m[2];
      }
      let reloadSinceMs: number | undefined;
      if (o.reloadSince !== undefined) {
        reloadSinceMs = Number(o.reloadSince) * 1000;
        if (!Number.isFinite(reloadSinceMs)) throw badInput(`--reload-since: expected seconds since the epoch, got '${o.reloadSince}'`);
      }
      const log: PolicyLog = (level, msg) => (level === 'info' && !o.json ? process.stdout : process.stderr).write(`${level === 'info' ? '' : `${level}: `}${msg}\n`);
      const result = await runEvent(
        config,
        {
          gateways: String(o.gateway).split(',').filter(Boolean),
          status: o.status,
          sample,
          alarm: o.alarm === undefined ? undefined : (Number(o.alarm) as 0 | 1),
          others,
          stateFile: o.state,
          reloadMarker: o.afterReload,
          reloadSinceMs,
          noWait: o.wait === false,
        },
        { killer, log },
      );
      if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      if (anyKillFailed(result.outcomes)) throw new ExitCode(1);
    });
}
