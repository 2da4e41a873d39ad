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
    .option('--force', 'install even if the binary, the config or `statekill doctor` do not check out')
    .option('--doctor', 'run `statekill doctor` before installing a pf hook even under --root (default: only when --root is /)')
    .option('--no-doctor', 'do not run `statekill doctor` first')
    .action((product: string, o) => {
      const opts = { root: o.root, statekill: o.bin, config: o.config, force: !!o.force, doctor: o.doctor };
      for (const line of installHook(product, opts)) process.stdout.write(`${line}\n`);
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
