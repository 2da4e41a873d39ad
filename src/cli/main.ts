/**
 * statekill's CLI entry: commander parses, each command lives in its own file and registers itself.
 * Exit codes: 0 success (including nothing to kill), 1 some kills failed, 2 bad input (and no
 * command at all), 128+N interrupted by signal N mid-kill (the partial report is printed).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { StatekillError } from '../errors.js';
import { commands } from './commands.js';
import { EXAMPLES } from './examples.js';

const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export const EXIT_OK = 0;
export const EXIT_KILL_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** Thrown by a command's action to end with a given exit code after printing. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('statekill')
    .description("kill only the failed gateway's connection states (pf, simulated pf, Linux conntrack)")
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);
  for (const register of commands) register(program);
  for (const cmd of program.commands) {
    const examples = EXAMPLES[cmd.name()];
    if (examples) cmd.addHelpText('after', `\nExamples:\n${examples.map((l) => `  ${l}`).join('\n')}`);
  }
  if (argv.length <= 2) {
    // No command is a usage error: say what there is, on stderr.
    process.stderr.write(program.helpInformation());
    return EXIT_BAD_INPUT;
  }
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof ExitCode) return e.code;
    if (e instanceof CommanderError) {
      // Help asked for and version are successful exits. Help shown instead of a command (a command
      // group without its subcommand, `help` for a command that does not exist: commander writes it
      // to stderr with a non-zero exit code) is a usage error, as every other parse error.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT_OK;
      if (e.code === 'commander.help') return e.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
      return EXIT_BAD_INPUT;
    }
    if (e instanceof StatekillError) {
      process.stderr.write(`statekill: ${e.message}\n`);
      return e.code === 'E_BAD_INPUT' || e.code === 'EINVAL' ? EXIT_BAD_INPUT : EXIT_KILL_FAILED;
    }
    process.stderr.write(`statekill: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT_KILL_FAILED;
  }
}
