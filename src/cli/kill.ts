/** statekill kill: select, pair, kill only those states. */
import type { Command } from 'commander';
import { badInput } from '../errors.js';
import { ExitCode, EXIT_KILL_FAILED } from './main.js';
import { addSelectOptions, addTableOptions, openTableFrom, saveSimAfter, selectionFrom, workersFrom, type SelectOpts, type TableOpts } from './table-options.js';
import { reportJson, reportText } from './report.js';

interface KillOpts extends TableOpts, SelectOpts {
  killAmbiguous?: boolean;
  pair: boolean;
  pairRule: 'kernel' | 'kernel+stack';
  dryRun?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program.command('kill').description("kill the selected states and their opposite-direction partners, nothing else");
  addTableOptions(cmd);
  addSelectOptions(cmd);
  cmd
    .option('--kill-ambiguous', 'also kill partners that are not unique (reported, not killed, by default)')
    .option('--no-pair', 'kill only the selected states, not their partners')
    .option('--pair-rule <rule>', "'kernel' (pf's kill_match exactly) or 'kernel+stack' (also pairs port-forwards)", 'kernel+stack')
    .option('--dry-run', 'plan and report, kill nothing')
    .option('--json', 'print one JSON object (see README)')
    .action(async (o: KillOpts) => {
      const backend = o.backend ?? 'pf';
      const selection = selectionFrom(o, backend);
      if (o.pairRule !== 'kernel' && o.pairRule !== 'kernel+stack') throw badInput(`--pair-rule: expected 'kernel' or 'kernel+stack'`);
      if (o.simSave && !o.sim) throw badInput('--sim-save needs --sim');
      const workers = workersFrom(o);
      const table = await openTableFrom(o, selection);
      try {
        const { plan, report } = await table.kill([selection], {
          pair: o.pair, pairRule: o.pairRule, killAmbiguous: o.killAmbiguous, workers, dryRun: o.dryRun,
        });
        process.stdout.write(`${o.json ? reportJson(plan, report) : reportText(report, table.describe().target)}\n`);
        await saveSimAfter(o, table);
        if (report.failed > 0) throw new ExitCode(EXIT_KILL_FAILED);
      } finally {
        await table.close();
      }
    });
}
