/** Runs the CLI in-process (`main`), capturing what it writes to stdout and stderr. */
import { main } from '../src/cli/main.js';

export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const w = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'statekill', ...args]);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    [process.stdout.write, process.stderr.write] = w;
  }
}
