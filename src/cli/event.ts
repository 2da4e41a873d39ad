/** `statekill event`: one gateway event, for hook scripts and by hand. */
import type { Command } from 'commander';
import { badInput } from '../errors.js';
import { auditFile, type AuditSink } from '../policy/audit.js';
import { loadConfig, type PolicyConfig, type SyslogFacility, SYSLOG_FACILITIES } from '../policy/config.js';
import { engineKiller, tableTarget } from '../policy/engine-killer.js';
import { anyKillFailed, type PolicyLog } from '../policy/execute.js';
import { killerForTarget } from '../policy/conntrack.js';
import { runEvent } from '../policy/event-runner.js';
import { syslogLog, teeLog } from '../policy/log.js';
import type { ReloadSignal, Since } from '../policy/reload.js';
import { parseDpingerLine, STATUS_WORDS } from '../policy/status.js';
import { ExitCode } from './main.js';

export const DEFAULT_CONFIG = '/usr/local/etc/statekill.yaml';

function collect(v: string, acc: string[]) {
  return [...acc, v];
}

/** `--reload-since 1700000000` (whole seconds, as `date +%s` gives) or `1700000000.25`. */
export function parseSince(text: string): Since {
  if (!/^\d{1,12}(\.\d{1,9})?$/.test(text)) throw badInput(`--reload-since: expected seconds since the epoch, got '${text}'`);
  return { ms: Number(text) * 1000, precisionMs: text.includes('.') ? 0 : 1000 };
}

export interface SyslogFlags {
  syslog?: boolean;
  syslogFacility?: string;
  syslogTag?: string;
}

/** Terminal lines plus, if asked, the same lines to syslog (config `log`, overridden by the flags). */
export function policyLogs(config: { log: { syslog: boolean; facility: SyslogFacility; tag: string } }, o: SyslogFlags, terminal: PolicyLog) {
  const facility = (o.syslogFacility ?? config.log.facility) as SyslogFacility;
  if (!SYSLOG_FACILITIES.includes(facility)) throw badInput(`--syslog-facility: expected one of ${SYSLOG_FACILITIES.join(', ')}, got '${facility}'`);
  const tag = o.syslogTag ?? config.log.tag;
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(tag)) throw badInput(`--syslog-tag: expected 1-32 letters, digits, _ . -, got '${tag}'`);
  const syslog = (o.syslog ?? config.log.syslog) ? syslogLog({ facility, tag, onError: (m) => process.stderr.write(`warn: ${m}\n`) }) : undefined;
  return teeLog(terminal, syslog);
}

/**
 * A hook runs `daemon -f statekill event ... --syslog`: stderr goes to /dev/null. So an event that
 * cannot run at all (a broken config, a refused state file, a lock it gave up on) says why in syslog
 * too, with the flags' facility and tag, else the config's, else daemon/statekill.
 */
export async function syslogFailure(o: SyslogFlags, config: { log: { syslog: boolean; facility: SyslogFacility; tag: string } } | undefined, e: unknown): Promise<void> {
  if (e instanceof ExitCode || !(o.syslog ?? config?.log.syslog)) return;
  const facility = [o.syslogFacility, config?.log.facility].find((f): f is SyslogFacility => SYSLOG_FACILITIES.includes(f as SyslogFacility)) ?? 'daemon';
  const tag = [o.syslogTag, config?.log.tag].find((t): t is string => t !== undefined && /^[A-Za-z0-9_.-]{1,32}$/.test(t)) ?? 'statekill';
  const log = syslogLog({ facility, tag });
  log('error', `statekill: ${(e as Error).message}`);
  await log.flush();
}

function reloadOption(o: { afterReload?: string; afterFilterLock?: string; afterReloadStatus?: string; reloadSince?: string }): { signal: ReloadSignal; since?: Since } | undefined {
  const given = [
    o.afterReload !== undefined ? { kind: 'marker' as const, file: o.afterReload } : undefined,
    o.afterFilterLock !== undefined ? { kind: 'filterLock' as const, file: o.afterFilterLock } : undefined,
    o.afterReloadStatus !== undefined ? { kind: 'reloadStatus' as const, file: o.afterReloadStatus } : undefined,
  ].filter((x) => x !== undefined);
  if (given.length > 1) throw badInput('give one of --after-reload, --after-filter-lock, --after-reload-status');
  for (const g of given) if (g.file === '') throw badInput(`--after-${g.kind === 'marker' ? 'reload' : g.kind === 'filterLock' ? 'filter-lock' : 'reload-status'}: expected a path`);
  const since = o.reloadSince !== undefined ? parseSince(o.reloadSince) : undefined;
  if (!given.length) {
    if (since) throw badInput('--reload-since needs --after-reload, --after-filter-lock or --after-reload-status');
    return undefined;
  }
  return { signal: given[0]!, since };
}

export function register(program: Command): void {
  program
    .command('event')
    .description('apply the failover policy to one gateway event, then kill what it decides')
    .option('--gateway <names>', 'gateway name (comma-separated for several; names not in the config are logged and skipped)')
    .option('--all', 'every gateway of the config: those whose status changed are the event; pending actions are re-checked')
    .option('--status <word>', `${STATUS_WORDS.join('|')}|auto (auto: from --sample, else the firewall: pluginctl or the dpinger sockets)`, 'auto')
    .option('--sample <text>', 'dpinger sample "LATENCY_US STDDEV_US LOSS_PERCENT"')
    .option('--alarm <flag>', "dpinger's alarm flag (0 or 1); logged, decides nothing")
    .option('--gateway-status <name=status>', 'a known status of another gateway (repeatable)', collect, [])
    .option('--config <file>', 'policy config (YAML or JSON)', DEFAULT_CONFIG)
    .option('--state <file>', 'policy memory file (default: the config stateFile)')
    .option('--sim <file>', 'kill in a simulated pf table (JSON Lines) instead of the kernel')
    .option('--device <path>', 'pf device (default /dev/pf)')
    .option('--backend <name>', 'conntrack for Linux')
    .option('--dry-run', 'decide and plan, kill nothing, write no memory')
    .option('--json', 'print decisions and report counts as JSON (lines go to stderr)')
    .option('--audit <file>', 'append one JSON line per killed state to this file')
    .option('--after-reload <file>', 'wait until this file is rewritten by the ruleset reload before killing')
    .option('--after-filter-lock <file>', "OPNsense: wait until the reload's flock on this file (/tmp/rules.debug) is released")
    .option('--after-reload-status <file>', 'pfSense: wait until this file (/var/run/filter_reload_status) says Done')
    .option('--reload-since <epoch>', 'the reload counts from this time (seconds since the epoch, fractions allowed)')
    .option('--during-reload', "started by the reload itself (pfSense's post-load plugin): the next Done or lock release ends it")
    .option('--carp-role <role>', 'master or backup, instead of the config / ifconfig')
    .option('--syslog', 'also log each line to syslog through logger(1)')
    .option('--syslog-facility <name>', `syslog facility (${SYSLOG_FACILITIES.join(', ')})`)
    .option('--syslog-tag <tag>', 'syslog tag (default statekill)')
    .option('--no-wait', 'do not stay for hold-down re-checks')
    .action(async (o) => {
      let config: PolicyConfig | undefined;
      try {
        config = loadConfig(o.config);
        await eventAction(o, config);
      } catch (e) {
        await syslogFailure(o, config, e);
        throw e;
      }
    });
}

/** The event itself, once the config has loaded (commander's options object: untyped). */
async function eventAction(o: Record<string, any>, config: PolicyConfig): Promise<void> {
  const target = tableTarget(o);
  if (!o.all && (o.gateway === undefined || String(o.gateway).split(',').every((g) => g === '')))
    throw badInput('event: give --gateway NAME[,NAME] or --all');
  if (o.all && o.gateway !== undefined) throw badInput('event: --all and --gateway exclude each other');
  let sample;
  if (o.sample !== undefined) {
    sample = parseDpingerLine(String(o.sample));
    if (!sample) throw badInput(`--sample: expected "LATENCY_US STDDEV_US LOSS_PERCENT", got '${o.sample}'`);
  }
  if (o.alarm !== undefined && o.alarm !== '0' && o.alarm !== '1') throw badInput(`--alarm: expected 0 or 1, got '${o.alarm}'`);
  if (o.carpRole !== undefined && o.carpRole !== 'master' && o.carpRole !== 'backup') throw badInput(`--carp-role: expected master or backup, got '${o.carpRole}'`);
  const others: Record<string, string> = {};
  for (const kv of o.gatewayStatus as string[]) {
    const m = kv.match(/^([^=]+)=(.+)$/);
    if (!m) throw badInput(`--gateway-status: expected NAME=STATUS, got '${kv}'`);
    others[m[1]] = m[2];
  }
  const reload = reloadOption(o);
  const terminal: PolicyLog = (level, msg) => (level === 'info' && !o.json ? process.stdout : process.stderr).write(`${level === 'info' ? '' : `${level}: `}${msg}\n`);
  const log = policyLogs(config, o, terminal);
  let audit: AuditSink | undefined;
  if (o.audit !== undefined) audit = auditFile(String(o.audit));
  const abort = new AbortController();
  const stop = (sig: string) => {
    log('warn', `event: ${sig}: stopping; what was not killed stays pending`);
    abort.abort();
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  try {
    const result = await runEvent(
      config,
      {
        gateways: o.all ? [] : String(o.gateway).split(',').filter(Boolean),
        all: !!o.all,
        status: o.status,
        sample,
        alarm: o.alarm === undefined ? undefined : (Number(o.alarm) as 0 | 1),
        others,
        stateFile: o.state,
        reload,
        duringReload: !!o.duringReload,
        noWait: o.wait === false,
        dryRun: !!o.dryRun,
        carpRole: o.carpRole,
        signal: abort.signal,
      },
      { killer: killerForTarget(target, engineKiller(target, { dryRun: !!o.dryRun, audit }), () => config), log },
    );
    if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    if (anyKillFailed(result.outcomes) || result.stopped) throw new ExitCode(1);
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    audit?.close();
    await log.flush();
  }
}
