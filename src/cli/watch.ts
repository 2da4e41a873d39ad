/** `statekill watch`: the daemon. SIGTERM/SIGINT end it cleanly; SIGHUP reloads the config. */
import type { Command } from 'commander';
import { pino } from 'pino';
import { auditFile, type AuditSink } from '../policy/audit.js';
import { loadConfig, type PolicyConfig } from '../policy/config.js';
import { engineKiller, tableTarget } from '../policy/engine-killer.js';
import type { PolicyLog } from '../policy/execute.js';
import { killerForTarget, requireConntrackSelectors } from '../policy/conntrack.js';
import { Watcher } from '../policy/watcher.js';
import { DEFAULT_CONFIG, policyLogs, syslogFailure } from './event.js';

export function register(program: Command): void {
  program
    .command('watch')
    .description('daemon: read the gateways\' statuses from the firewall, apply the failover policy, kill through the engine')
    .option('--config <file>', 'policy config (YAML or JSON)', DEFAULT_CONFIG)
    .option('--sim <file>', 'kill in a simulated pf table (JSON Lines) instead of the kernel')
    .option('--device <path>', 'pf device (default /dev/pf)')
    .option('--backend <name>', 'conntrack for Linux')
    .option('--dry-run', 'decide and plan, kill nothing')
    .option('--json-log', 'log pino JSON lines on stdout instead of text')
    .option('--audit <file>', 'append one JSON line per killed state to this file')
    .option('--syslog', 'also log each line to syslog through logger(1)')
    .option('--syslog-facility <name>', 'syslog facility')
    .option('--syslog-tag <tag>', 'syslog tag (default statekill)')
    .action(async (o) => {
      // Before anything slow: a SIGHUP now means "use the newest config", which loading it is.
      let watcher: Watcher | undefined;
      let pendingHup = false;
      const hup = () => {
        if (!watcher) return void (pendingHup = true);
        try {
          const next = loadConfig(o.config);
          if (target.conntrack !== undefined) requireConntrackSelectors(next);
          watcher.setConfig(next);
          config = next;
          log('info', 'watch: config reloaded', { config: o.config });
        } catch (e) {
          log('error', `watch: config reload failed, keeping the previous config: ${(e as Error).message}`, { config: o.config });
        }
      };
      process.on('SIGHUP', hup);
      for (const l of process.listeners('SIGHUP')) if (l.name === 'statekillEarlySighup') process.off('SIGHUP', l);

      const logger = o.jsonLog ? pino({ base: { pid: process.pid, name: 'statekill' } }) : undefined;
      const terminal: PolicyLog = logger
        ? (level, msg, fields) => logger[level](fields ?? {}, msg)
        : (level, msg) => process.stdout.write(`${level === 'info' ? '' : `${level}: `}${msg}\n`);
      let config: PolicyConfig;
      let target: ReturnType<typeof tableTarget>;
      let log: ReturnType<typeof policyLogs>;
      let loaded: PolicyConfig | undefined;
      try {
        config = loaded = loadConfig(o.config); // a bad config at start is bad input (exit 2)
        target = tableTarget(o);
        log = policyLogs(config, o, terminal);
      } catch (e) {
        // Started by an rc script, its stderr may go nowhere: with --syslog, say why there too.
        await syslogFailure(o, loaded, e);
        throw e;
      }
      let audit: AuditSink | undefined;
      if (o.audit !== undefined) audit = auditFile(String(o.audit));
      // A real kernel's table stays open between events, so each event's read reuses the last
      // one's buffer (a simulated table file is loaded afresh per event, as `event` does).
      const engine = engineKiller(target, { dryRun: !!o.dryRun, audit, keepOpen: !o.sim });
      watcher = new Watcher(config, { killer: killerForTarget(target, engine, () => config), log });
      log('info', 'watch: started', { config: o.config, gateways: config.gateways.map((g) => g.name) });
      if (pendingHup) hup();
      watcher.start();
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          log('info', `watch: ${sig}, stopping`, { signal: sig });
          process.off('SIGHUP', hup);
          watcher!.stop().then(() => engine.close()).then(async () => {
            log('info', 'watch: stopped');
            audit?.close();
            await log.flush();
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
