/** Every CLI command, one file each; each exports `register(program)`. Add a line per command. */
import type { Command } from 'commander';
import { register as event } from './event.js';
import { register as hook } from './hook.js';
import { register as watch } from './watch.js';

export type Register = (program: Command) => void;

export const commands: Register[] = [
  event,
  hook,
  watch,
];
