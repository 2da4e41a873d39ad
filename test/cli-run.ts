/** Runs `bin/statekill.js` (or any command) as a child process: exit code and both outputs, never a throw. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = new URL('..', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/statekill.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

/** `statekill ARGS...` with this Node. */
export function cli(...args: string[]): Promise<Run> {
  return run(process.execPath, [BIN, ...args]);
}
