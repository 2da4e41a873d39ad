/** statekill save: write the table (device or simulated) as JSON Lines or a raw dump of either ABI. */
import { Option, type Command } from 'commander';
import { saveTableFile, type TableFormat } from '../table/file.js';
import { addTableOptions, checkTableOpts, checkWritable, openTableFrom, ruleLabelsOf, type TableOpts } from './table-options.js';

export function register(program: Command): void {
  const cmd = program.command('save').description('save the state table to a file').argument('<file>', 'output file');
  addTableOptions(cmd);
  cmd.addOption(new Option('--format <fmt>', 'output format').choices(['jsonl', 'pf-export', 'pf-1301']).default('jsonl'))
    .action(async (file: string, o: TableOpts & { format: TableFormat }) => {
      checkTableOpts(o);
      checkWritable(file, 'save');
      const table = await openTableFrom(o);
      try {
        const snap = await table.snapshot();
        saveTableFile(file, snap.bytes, snap.count, snap.layout, o.format, ruleLabelsOf(table));
        process.stderr.write(`saved ${snap.count} states to ${file} (${o.format})\n`);
      } finally {
        await table.close();
      }
    });
}
