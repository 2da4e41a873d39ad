/**
 * Issue 10's property test, conntrack half: random tables (real kernel, own netns) and random
 * selections, including boundary, empty, repeated, invalid and pf-only values, as library values and
 * as CLI strings (empty option values, repeated selectors, protocol names, hex numbers, `--kernel-filter`
 * with IPv4 and IPv6 reply destinations). The library and the CLI either refuse with E_BAD_INPUT
 * (exit 2) and delete nothing, or delete exactly what an independent model of the selection says
 * (test/conntrack-property-cases.ts: plain TS over the entries as inserted, CIDRs through node:net's
 * BlockList; never the engine's select or validate). Seeded: STATEKILL_SEED=<n> repeats a run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { openTable } from '../src/engine/table.js';
import { cli } from './cli-run.js';
import { ctNamespace, netnsUnavailable } from './conntrack-netns.js';
import { dumpAll, insertEntries, tupleKey, type EntrySpec } from './conntrack-fill.js';
import { cliCase, kernelFilterCase, modelKills, prng, randomCase, randomTable, type Case } from './conntrack-property-cases.js';

const SEED = Number(process.env.STATEKILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`conntrack-property: seed ${SEED} (repeat with STATEKILL_SEED=${SEED})`);

/** Per table: library cases (fast, in-process), CLI cases (one process each, about 0.5 s). */
const LIB_CASES = 40;
const CLI_CASES = 6;
const KERNEL_FILTER_CASES = 3;

const why = netnsUnavailable();
if (why) console.log(`conntrack-property: skipping: ${why}`);

describe.skipIf(why !== null)(`conntrack selections: refused, or exactly the model (seed ${SEED})`, () => {
  const { ns, fd } = ctNamespace('prop');
  const r = prng(SEED);
  const tables = Array.from({ length: 4 }, () => randomTable(r));
  const tally = { lib: { valid: 0, invalid: 0, either: 0 }, cli: { exact: 0, refused: 0 } };

  afterAll(() => {
    console.log(`conntrack-property: library cases ${JSON.stringify(tally.lib)}, CLI cases ${JSON.stringify(tally.cli)}`);
  });

  const refill = (t: EntrySpec[]) => {
    native.ctFlushAll(fd());
    insertEntries(fd(), t);
  };
  const leftKeys = () => dumpAll(fd()).map(tupleKey).sort();
  const keysOf = (t: EntrySpec[]) => t.map((e) => tupleKey({ zone: e.zone ?? 0, ...e })).sort();
  const describeCase = (c: Case, ti: number) => `seed ${SEED}, table ${ti}, ${c.why}: ${JSON.stringify(c.sels)}`;

  tables.forEach((t, ti) => {
    it(`library: table ${ti} (${t.length} entries), ${LIB_CASES} random selections`, async () => {
      for (let i = 0; i < LIB_CASES; i++) {
        const c = randomCase(r, t);
        refill(t);
        const table = await openTable({ conntrack: { netns: ns } });
        let refused: unknown;
        let killed = -1;
        try {
          killed = (await table.kill(c.sels)).report.killed;
        } catch (e) {
          refused = e;
        } finally {
          await table.close();
        }
        const label = describeCase(c, ti);
        if (refused) {
          expect((refused as { code?: string }).code, `${label}: ${String(refused)}`).toBe('E_BAD_INPUT');
          expect(c.expect, `${label}: refused a valid selection: ${String(refused)}`).not.toBe('valid');
          expect(leftKeys(), `${label}: refused, but entries were deleted`).toEqual(keysOf(t));
        } else {
          expect(c.expect, `${label}: not refused`).not.toBe('invalid');
          const dead = modelKills(t, c.sels);
          expect(killed, label).toBe(dead.length);
          expect(leftKeys(), label).toEqual(keysOf(t.filter((e) => !dead.includes(e))));
        }
        tally.lib[c.expect]++;
      }
    });

    it(`CLI: table ${ti}, ${CLI_CASES} random selections through \`kill\` and ${KERNEL_FILTER_CASES} through \`kill --kernel-filter\``, async () => {
      const cases: { c: Case & { cli: string[] }; kernel: boolean }[] = [];
      for (let i = 0; i < CLI_CASES; i++) cases.push({ c: cliCase(r, t), kernel: false });
      for (let i = 0; i < KERNEL_FILTER_CASES; i++) cases.push({ c: kernelFilterCase(r, t), kernel: true });
      for (const { c, kernel } of cases) {
        refill(t);
        const args = [...c.cli, ...(kernel ? ['--kernel-filter'] : [])];
        const out = await cli('kill', '--backend', 'conntrack', '--netns', ns, ...args, '--json');
        const label = `${describeCase(c, ti)} (statekill kill ${args.map((a) => JSON.stringify(a)).join(' ')}): ${out.stderr}`;
        if (out.code === 2) {
          expect(c.expect, label).not.toBe('valid');
          expect(out.stdout, label).toBe('');
          expect(leftKeys(), `${label}: refused, but entries were deleted`).toEqual(keysOf(t));
          tally.cli.refused++;
        } else {
          expect(out.code, label).toBe(0);
          expect(c.expect, `${label}: not refused`).not.toBe('invalid');
          const dead = modelKills(t, c.sels);
          expect(JSON.parse(out.stdout).killed, label).toBe(dead.length);
          expect(leftKeys(), label).toEqual(keysOf(t.filter((e) => !dead.includes(e))));
          tally.cli.exact++;
        }
      }
    });
  });
});
