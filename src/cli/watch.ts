/** `statekill watch`: the daemon. SIGTERM/SIGINT end it cleanly; SIGHUP reloads the config. */
import type { Command } from 'commander';
import { pino } from 'pino';
import { loadConfig } from '../policy/config.js';
import { engineKiller, tableTarget } from '../policy/engine-killer.js';
import type { PolicyLog } from '../policy/execute.js';
import { Watcher } from '../policy/watcher.js';
import { DEFAULT_CONFIG } from './event.js';

export function register(program: Command): void {
  program
    .command('watch')
    .description('daemon: poll dpinger status sockets, apply the failover policy, kill through the engine')
    .option('--config <file>', 'policy config (YAML or JSON)', DEFAULT_CONFIG)
    .option('--sim <file>', 'kill in a simulated pf table (JSON Lines) instead of the kernel')
    .option('--device <path>', 'pf device', '/dev/pf')
    .option('--backend <name>', 'conntrack for Linux')
    .option('--dry-run', 'decide and plan, kill nothing')
    .action(async (o) => {
      const logger = pino({ base: { pid: process.pid, name: 'statekill' } });
      const log: PolicyLog = (level, msg, fields) => logger[level](fields ?? {}, msg);
      const config = loadConfig(o.config); // a bad config at start is bad input (exit 2)
      // A real kernel's table stays open between events, so each event's read reuses the last
      // one's buffer (a simulated table file is loaded afresh per event, as `event` does).
      const killer = engineKiller(tableTarget(o), { dryRun: !!o.dryRun, keepOpen: !o.sim });
      const watcher = new Watcher(config, { killer, log });
      logger.info({ config: o.config, gateways: config.gateways.map((g) => g.name) }, 'watch: started');
      watcher.start();
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          logger.info({ signal: sig }, `watch: ${sig}, stopping`);
          process.off('SIGHUP', hup);
          watcher.stop().then(() => killer.close()).then(() => {
            logger.info('watch: stopped');
            resolve();
          });
        };
        const hup = () => {
          try {
            watcher.setConfig(loadConfig(o.config));
            logger.info({ config: o.config }, 'watch: config reloaded');
          } catch (e) {
            logger.error({ config: o.config }, `watch: config reload failed, keeping the previous config: ${(e as Error).message}`);
          }
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        process.on('SIGHUP', hup);
      });
    });
}
