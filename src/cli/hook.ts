/** `statekill hook install|uninstall|status <product>`: put the event hook where the product runs it. */
import type { Command } from 'commander';
import { hookStatus, installHook, uninstallHook } from '../hooks/install.js';
import { HOOK_TARGETS } from '../hooks/targets.js';
import { DEFAULT_CONFIG } from './event.js';
import { ExitCode } from './main.js';

export function register(program: Command): void {
  const names = HOOK_TARGETS.map((t) => t.name).join('|');
  const hook = program.command('hook').description(`install, remove or check the gateway-event hook (${names})`);
  hook
    .command('install')
    .argument('<product>', names)
    .option('--root <dir>', 'filesystem root to install under (absolute)', '/')
    .option('--bin <path>', 'statekill as the firewall should run it', '/usr/local/bin/statekill')
    .option('--config <file>', 'policy config the hook passes to statekill', DEFAULT_CONFIG)
    .option('--force', 'install even if the binary or the config do not check out')
    .action((product: string, o) => {
      for (const line of installHook(product, { root: o.root, statekill: o.bin, config: o.config, force: !!o.force })) process.stdout.write(`${line}\n`);
    });
  hook
    .command('uninstall')
    .argument('<product>', names)
    .option('--root <dir>', 'filesystem root to remove from (absolute)', '/')
    .action((product: string, o) => {
      for (const line of uninstallHook(product, o.root)) process.stdout.write(`${line}\n`);
    });
  hook
    .command('status')
    .argument('<product>', names)
    .option('--root <dir>', 'filesystem root to look under (absolute)', '/')
    .action((product: string, o) => {
      const s = hookStatus(product, o.root);
      for (const line of s.lines) process.stdout.write(`${line}\n`);
      if (!s.ok) throw new ExitCode(1);
    });
}
