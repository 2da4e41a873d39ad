/** Every CLI command, one file each; each exports `register(program)`. Add a line per command. */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

export const commands: Register[] = [];
