/** `statekill hook install|uninstall <product>`: put the event hook where the product runs it. */
import type { Command } from 'commander';
import { installHook, uninstallHook } from '../hooks/install.js';
import { HOOK_TARGETS } from '../hooks/targets.js';
import { DEFAULT_CONFIG } from './event.js';

export function register(program: Command): void {
  const names = HOOK_TARGETS.map((t) => t.name).join('|');
  const hook = program.command('hook').description(`install or remove the gateway-event hook (${names})`);
  hook
    .command('install')
    .argument('<product>', names)
    .option('--root <dir>', 'filesystem root to install under', '/')
    .option('--bin <path>', 'statekill as the firewall should run it', '/usr/local/bin/statekill')
    .option('--config <file>', 'policy config the hook passes to statekill', DEFAULT_CONFIG)
    .option('--log <file>', 'where the hook appends statekill output', '/var/log/statekill.log')
    .action((product: string, o) => {
      for (const line of installHook(product, { root: o.root, statekill: o.bin, config: o.config, log: o.log })) process.stdout.write(`${line}\n`);
    });
  hook
    .command('uninstall')
    .argument('<product>', names)
    .option('--root <dir>', 'filesystem root to remove from', '/')
    .action((product: string, o) => {
      for (const line of uninstallHook(product, o.root)) process.stdout.write(`${line}\n`);
    });
}
