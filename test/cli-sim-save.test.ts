/** `kill --sim-save`: what a simulated kill left behind, read back by a later command; closed pipes. */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/statekill.js');
const TABLE = join(ROOT, 'test/fixtures/small-table.jsonl');
const TMP = mkdtempSync(join(tmpdir(), 'sk-save-'));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
  });
}

const ids = (text: string) => text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => JSON.parse(l).id.slice(-2)).sort();

describe('kill --sim-save', () => {
  it('a later list sees exactly the survivors', async () => {
    const after = join(TMP, 'after.jsonl');
    const k = await cli('kill', '--sim', TABLE, '--gateway', '198.51.100.1', '--sim-save', after, '--json');
    expect(k.code).toBe(0);
    const killed = JSON.parse(k.stdout).states.map((s: { id: string }) => s.id.slice(-2)).sort();
    expect(killed).toEqual(['01', '02', '05']);
    expect(ids(readFileSync(after, 'utf8'))).toEqual(['03', '04', '06', '07', '08']);
    const l = await cli('list', '--sim', after, '--json');
    expect(ids(l.stdout)).toEqual(['03', '04', '06', '07', '08']);
  });
  it('is kill\'s alone: list, stats and save (which change nothing) refuse it rather than accept it and write nothing', async () => {
    const file = join(TMP, 'never.jsonl');
    for (const args of [['list'], ['stats'], ['save', join(TMP, 'copy.jsonl')]]) {
      const r = await cli(...args, '--sim', TABLE, '--sim-save', file);
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr).toMatch(/unknown option '--sim-save'/);
      expect(existsSync(file)).toBe(false);
      expect((await cli(args[0], '--help')).stdout).not.toContain('--sim-save');
    }
  });
  it('without --sim it is bad input and nothing runs', async () => {
    const r = await cli('kill', '--gateway', '198.51.100.1', '--sim-save', join(TMP, 'x.jsonl'));
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'statekill: --sim-save needs --sim\n' });
  });
});

describe('output into a closed pipe', () => {
  it('ends quietly with exit 0 (list | head)', async () => {
    const child = spawn(process.execPath, [BIN, 'demo', '--states', '50000', '--json', '--no-compare'], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy()); // the reader goes away after the first bytes
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
