/** Every CLI command, one file each; each exports `register(program)`. Add a line per command. */
import type { Command } from 'commander';
import { register as demo } from './demo.js';
import { register as doctor } from './doctor.js';
import { register as event } from './event.js';
import { register as hook } from './hook.js';
import { register as kill } from './kill.js';
import { register as list } from './list.js';
import { register as save } from './save.js';
import { register as stats } from './stats.js';
import { register as watch } from './watch.js';

export type Register = (program: Command) => void;

export const commands: Register[] = [
  demo,
  kill,
  list,
  stats,
  save,
  event,
  hook,
  watch,
  doctor,
];
