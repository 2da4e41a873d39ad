/**
 * SIGINT/SIGTERM during `statekill kill` (issue 10 item 19): the kill stops between batches, the
 * report of what was killed prints (text or JSON with `interrupted` and `notAttempted`), --sim-save
 * writes the table that is left, and the exit code is 128 + the signal's number.
 *
 * The signal is real: a harness runs the CLI's main() and sends the signal to its own process when
 * the first `--progress` line is written (then waits a moment so the signal is surely pending).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTable, saveTableFile } from '../src/index.js';

const ROOT = new URL('..', import.meta.url).pathname;
const TMP = mkdtempSync(join(tmpdir(), 'sk-int-'));
const TABLE = join(TMP, 't100k.bin');
const HARNESS = join(TMP, 'harness.mjs');
const STATES = 100_000;
const BATCH = 16384;

beforeAll(async () => {
  const t = await openTable({ sim: { generate: { states: STATES, seed: 1, profile: 'bench' } } });
  const s = await t.snapshot();
  saveTableFile(TABLE, s.bytes, s.count, s.layout, 'pf-export');
  await t.close();
  writeFileSync(HARNESS, `
import { main } from ${JSON.stringify(join(ROOT, 'dist/cli/main.js'))};
const write = process.stderr.write.bind(process.stderr);
let sent = false;
process.stderr.write = (chunk, ...rest) => {
  const r = write(chunk, ...rest);
  if (!sent && String(chunk).startsWith('killed ')) {
    sent = true;
    process.kill(process.pid, process.env.SIG);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // the signal is pending before the next batch
  }
  return r;
};
process.exitCode = await main(process.argv);
`);
});
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function harness(sig: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [HARNESS, ...args], { cwd: ROOT, env: { ...process.env, SIG: sig }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

describe('a signal during kill', () => {
  it('SIGINT: stops after the batch in flight, prints the partial JSON report, exits 130; the saved table is what is left', async () => {
    const left = join(TMP, 'left.jsonl');
    // --by-id: pf's gateway kill would take the gateway part in one request; by id the kill runs in batches.
    const r = await harness('SIGINT', 'kill', '--sim', TABLE, '--gateway', '198.51.100.1', '--by-id', '--progress', '--json', '--sim-save', left);
    expect(r.code).toBe(130);
    const o = JSON.parse(r.stdout);
    const planned = o.selected + o.paired;
    expect(o).toMatchObject({ killed: BATCH, alreadyGone: 0, failed: 0, interrupted: 'SIGINT', notAttempted: planned - BATCH });
    expect(planned).toBeGreaterThan(2 * BATCH);
    expect(Object.keys(o)).toEqual(['scanned', 'selected', 'paired', 'ambiguous', 'killed', 'alreadyGone', 'failed', 'dryRun',
      'interrupted', 'notAttempted', 'phasesMs', 'killPath', 'states']);
    expect(o.states).toHaveLength(BATCH); // the states killed, not the whole plan
    expect(r.stderr.trim().split('\n')).toEqual([`killed ${BATCH}/${planned}`]);
    // The table left behind is the table minus exactly the states the report lists.
    const ids = readFileSync(left, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).id as string);
    expect(ids).toHaveLength(STATES - o.killed);
    const alive = new Set(ids);
    expect(o.states.filter((s: { id: string }) => alive.has(s.id))).toEqual([]);
  });

  it('SIGTERM: the text report says what was not attempted, exit 143', async () => {
    const r = await harness('SIGTERM', 'kill', '--sim', TABLE, '--gateway', '198.51.100.1', '--by-id', '--progress');
    expect(r.code).toBe(143);
    expect(r.stdout).toMatch(new RegExp(`^killed: +${BATCH}$`, 'm'));
    expect(r.stdout).toMatch(/^interrupted: SIGTERM: \d+ planned states not attempted \(still in the table\)$/m);
  });
});
