/**
 * Reports serialise small at any table size: counts plus the failed entries (at most
 * FAILURES_LISTED), never one entry per state (the per-state list is plannedStates / kill --json).
 */
import { describe, expect, it } from 'vitest';
import { FAILURES_LISTED, openTable, type Backend } from '../src/index.js';

const GW1 = { af: 'inet' as const, addr: '198.51.100.1', prefix: 32 };
const LIMIT = 64 * 1024;

describe('ExecuteResult serialises small', () => {
  it('300k states: JSON.stringify of the report is well under 64 KiB, and results stay readable', async () => {
    const t = await openTable({ sim: { generate: { states: 300_000, seed: 1, profile: 'bench' } } });
    const { plan, report } = await t.kill([{ gateways: [GW1] }]);
    expect(report.killed).toBeGreaterThan(100_000);
    const json = JSON.stringify(report);
    expect(json.length).toBeLessThan(LIMIT);
    expect(json.length).toBeLessThan(1024); // counts and phases only: nothing failed
    expect(Object.keys(JSON.parse(json))).toEqual(['scanned', 'selected', 'paired', 'ambiguous', 'killed', 'alreadyGone',
      'failed', 'dryRun', 'phasesMs', 'notAttempted', 'failures', 'killPath']);
    // Spreading it into a log record (pino, the policy's log lines) stays small too.
    expect(JSON.stringify({ msg: 'killed', report: { ...report } }).length).toBeLessThan(LIMIT);
    expect(report.results).toBeInstanceOf(Int32Array);
    expect(report.results.length).toBe(plan.indices.length);
    await t.close();
  });

  it('every kill failing at 300k: the failures listed are capped, with id, creatorid and errno name', async () => {
    const sim = await openTable({ sim: { generate: { states: 300_000, seed: 1, profile: 'bench' } } });
    const be = sim.backend;
    // A kernel that refuses every kill with EPERM.
    const refusing: Backend = {
      describe: () => be.describe(), read: (h) => be.read(h), flush: () => be.flush(), close: () => be.close(),
      kill: (_s, indices, out) => { out.fill(-1, 0, indices.length); },
    };
    const t = await openTable({ backend: refusing });
    const { plan, report } = await t.kill([{ gateways: [GW1] }]);
    expect(report.failed).toBe(plan.indices.length);
    expect(report.failures).toHaveLength(FAILURES_LISTED);
    expect(report.failures[0]).toEqual({ id: expect.stringMatching(/^[0-9a-f]{16}$/), creatorid: '0badc0de', errno: 1, code: 'EPERM' });
    expect(JSON.stringify(report).length).toBeLessThan(LIMIT);
    await t.close();
  });
});
