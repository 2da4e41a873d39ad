/** statekill list: states as pfctl -ss prints them, with the same selectors; --json for JSON Lines. */
import type { Command } from 'commander';
import { stateToJson } from '../table/jsonl.js';
import { pfctlState } from './pfctl-format.js';
import { addSelectOptions, addTableOptions, checkTableOpts, checkedSelection, openTableFrom, ruleLabelsOf, workersFrom, type SelectOpts, type TableOpts } from './table-options.js';
import { decodeCtRecord } from '../backends/conntrack-record.js';
import type { Snapshot } from '../engine/types.js';

interface ListOpts extends TableOpts, SelectOpts {
  json?: boolean;
  pair?: boolean;
  verbose?: boolean;
}

export function register(program: Command): void {
  const cmd = program.command('list').description('list states (all, or those the selectors match)');
  addTableOptions(cmd);
  addSelectOptions(cmd);
  cmd
    .option('--pair', 'also list the selected states\' opposite-direction partners')
    .option('--json', 'JSON Lines, one state per line (the interchange format)')
    .option('-v, --verbose', "add pfctl -ss -vv's line: id, creatorid, route-to/reply-to gateway (and origif)")
    .action(async (o: ListOpts) => {
      const backend = o.backend ?? 'pf';
      checkTableOpts(o);
      // No selector at all lists everything; a selector given with a bad or empty value is refused.
      const selection = checkedSelection(o, backend, { emptyMeansAll: true })?.selections[0];
      const table = await openTableFrom(o, selection);
      const labels = ruleLabelsOf(table);
      try {
        let snap: Snapshot;
        let indices: Iterable<number>;
        if (!selection) {
          snap = await table.snapshot();
          indices = { [Symbol.iterator]: function* () { for (let i = 0; i < snap.count; i++) yield i; } };
        } else {
          const plan = await table.plan([selection], { pair: !!o.pair, workers: workersFrom(o), force: !!o.force, fullRecords: true });
          snap = table.lastSnapshot!;
          indices = plan.indices;
        }
        const out: string[] = [];
        const flush = () => { if (out.length) process.stdout.write(`${out.join('\n')}\n`); out.length = 0; };
        for (const i of indices) {
          if (snap.layout === 'ct') out.push(JSON.stringify(decodeCtRecord(snap.bytes, i)));
          else out.push(o.json ? JSON.stringify(stateToJson(snap.bytes, i, snap.layout, labels)) : pfctlState(snap, i, o.verbose));
          if (out.length >= 4096) flush();
        }
        flush();
      } finally {
        await table.close();
      }
    });
}
