/** statekill kill: select, pair, kill only those states. */
import type { Command } from 'commander';
import { badInput, isStatekillError } from '../errors.js';
import type { ConntrackBackend } from '../backends/conntrack.js';
import type { Selection } from '../engine/types.js';
import { ExitCode, EXIT_KILL_FAILED } from './main.js';
import { addSelectOptions, addSimSaveOption, addTableOptions, checkTableOpts, checkedSelection, openTableFrom, saveSimAfter, workersFrom, type SelectOpts, type TableOpts } from './table-options.js';
import { killJson, reportJson, reportText, type Interrupted } from './report.js';
import { interruptExitCode, isInterrupt, withInterrupts } from './interrupt.js';
import type { ExecuteResult } from '../engine/execute.js';

interface KillOpts extends TableOpts, SelectOpts {
  killAmbiguous?: boolean;
  pair: boolean;
  pairRule: 'kernel' | 'kernel+stack';
  dryRun?: boolean;
  json?: boolean;
  kernelFilter?: boolean;
  progress?: boolean;
  kernelRuleOnly?: boolean;
  byId?: boolean;
}

export function register(program: Command): void {
  const cmd = program.command('kill').description("kill the selected states and their opposite-direction partners, nothing else");
  addTableOptions(cmd);
  addSimSaveOption(cmd);
  addSelectOptions(cmd);
  cmd
    .option('--kill-ambiguous', 'also kill partners that are not unique (reported, not killed, by default)')
    .option('--no-pair', 'kill only the selected states, not their partners')
    .option('--pair-rule <rule>', "'kernel' (pf's kill_match exactly) or 'kernel+stack' (also pairs port-forwards)", 'kernel+stack')
    .option('--dry-run', 'plan and report, kill nothing')
    .option('--kernel-filter', 'conntrack: one DELETE the kernel filters itself (--mark, or --reply-dst on Linux 6.12+); fastest, counts what went but cannot list it')
    .option('--kernel-rule-only', "pf: only pf's own gateway kill (pfctl -M -k gateway): no read, no list, a count; leaves partners pf's rule cannot see")
    .option('--by-id', "pf: kill every planned state by id (never let pf's gateway kill take the plan's gateway part)")
    .option('--json', 'print one JSON object (see README)')
    .option('--progress', 'print "killed N/TOTAL" to stderr after each kill batch')
    .action(async (o: KillOpts) => {
      const backend = o.backend ?? 'pf';
      // Everything the user typed is checked before any kernel is opened: bad input reads nothing.
      checkTableOpts(o);
      const selection = checkedSelection(o, backend)!.selections[0];
      if (o.pairRule !== 'kernel' && o.pairRule !== 'kernel+stack') throw badInput(`--pair-rule: expected 'kernel' or 'kernel+stack'`);
      refuseInapplicable(o, backend, (name) => cmd.getOptionValueSource(name) === 'cli');
      if (o.kernelFilter) return killByKernelFilter(o, selection);
      if (o.kernelRuleOnly) return killKernelRuleOnly(o, selection);
      const workers = workersFrom(o);
      const table = await openTableFrom(o, selection);
      try {
        // SIGINT/SIGTERM stop the kill between batches; what was killed by then is still reported.
        await withInterrupts(async (signal) => {
          const plan = await table.plan([selection], { pair: o.pair, pairRule: o.pairRule, killAmbiguous: o.killAmbiguous, workers, signal, force: !!o.force });
          let report: ExecuteResult, stop: Interrupted | undefined;
          try {
            report = await table.execute(plan, {
              dryRun: o.dryRun, signal, ...(o.byId ? { pfFilterKill: false } : {}),
              onProgress: o.progress ? (p) => process.stderr.write(`killed ${p.done}/${p.total}\n`) : undefined,
            });
          } catch (e) {
            if (!(isStatekillError(e) && e.code === 'ABORT_ERR' && e.report && isInterrupt(signal.reason))) throw e;
            report = e.report;
            stop = { interrupted: signal.reason, notAttempted: report.notAttempted };
          }
          process.stdout.write(`${o.json ? reportJson(plan, report, stop) : reportText(report, table.describe().target, stop)}\n`);
          await saveSimAfter(o, table);
          if (stop) throw new ExitCode(interruptExitCode(signal.reason));
          if (report.failed > 0) throw new ExitCode(EXIT_KILL_FAILED);
        }).catch((e) => {
          // Stopped before any kill (while reading or planning): nothing was killed.
          if (isStatekillError(e) && e.code === 'ABORT_ERR' && isInterrupt(e.cause)) {
            process.stderr.write(`statekill: ${e.cause} before any state was killed: nothing killed\n`);
            throw new ExitCode(interruptExitCode(e.cause));
          }
          throw e;
        });
      } finally {
        await table.close();
      }
    });
}

/**
 * Options that would be ignored where they cannot apply are refused instead (an admin who typed them
 * expects them to act): a conntrack entry holds both directions, so there are no partners to pair
 * and every delete goes by entry id; pf's own gateway kill pairs by pf's rule and has no batches.
 */
function refuseInapplicable(o: KillOpts, backend: string, given: (name: string) => boolean): void {
  const flags: [boolean, string][] = [
    [given('pair'), '--no-pair'], [given('pairRule'), '--pair-rule'], [!!o.killAmbiguous, '--kill-ambiguous'], [!!o.byId, '--by-id'],
  ];
  if (backend === 'conntrack') {
    const used = flags.filter(([on]) => on).map(([, f]) => f);
    if (used.length) throw badInput(`${used.join(', ')}: ${used.length > 1 ? 'pf options' : 'a pf option'} (a conntrack entry holds both directions: no partners, every delete by entry id)`);
    if (o.kernelFilter && o.progress) throw badInput('--progress: --kernel-filter is one kernel request, with no batches to report');
  }
  if (o.kernelRuleOnly) {
    if (given('pairRule')) throw badInput("--pair-rule: --kernel-rule-only pairs by pf's own rule (--no-pair turns pairing off)");
    if (o.progress) throw badInput('--progress: --kernel-rule-only is one kernel request per gateway, with no batches to report');
  }
}

/** --kernel-filter: the kernel walks its own table once; no snapshot, no per-entry list. */
async function killByKernelFilter(o: KillOpts, selection: Selection): Promise<void> {
  if (o.backend !== 'conntrack') throw badInput('--kernel-filter applies to --backend conntrack (pf kills by state id: drop --kernel-filter)');
  if (o.dryRun) throw badInput('--kernel-filter cannot dry-run: the kernel does not say what it would delete');
  const others = Object.keys(selection).filter((k) => !['mark', 'replyDst', 'zone', 'af'].includes(k));
  if (others.length || (selection.mark === undefined) === (selection.replyDst === undefined))
    throw badInput('--kernel-filter takes exactly one of --mark or --reply-dst (with --zone/--af to scope it)');
  const table = await openTableFrom(o, selection);
  try {
    const be = table.backend as ConntrackBackend;
    const scanned = be.count();
    const r = be.killByKernelFilter(selection.mark ? { mark: selection.mark.value, mask: selection.mark.mask } : { replyDst: selection.replyDst! });
    if (o.json) {
      process.stdout.write(`${killJson({
        scanned, selected: r.killed + r.alreadyGone + r.failed, paired: 0, ambiguous: 0, killed: r.killed, alreadyGone: r.alreadyGone,
        failed: r.failed, dryRun: false, phasesMs: { kill: r.ms },
      }, [])}\n`);
    } else {
      process.stdout.write(`target:      ${table.describe().target}\npath:        ${r.path}${r.reason ? ` (${r.reason})` : ''}\n` +
        `killed:      ${r.killed}\n${r.alreadyGone ? `gone:        ${r.alreadyGone}\n` : ''}${r.failed ? `failed:      ${r.failed}\n` : ''}` +
        `phases (ms): kill ${r.ms.toFixed(1)}\n`);
    }
    // Entries the kernel refused to delete are a failed kill, never counted as killed.
    if (r.failed > 0) throw new ExitCode(EXIT_KILL_FAILED);
  } finally {
    await table.close();
  }
}

/** --kernel-rule-only: pf's own gateway kill, nothing else (kill-fast.ts killByKernelRule). */
async function killKernelRuleOnly(o: KillOpts, selection: Selection): Promise<void> {
  if ((o.backend ?? 'pf') !== 'pf') throw badInput('--kernel-rule-only applies to pf');
  if (o.dryRun) throw badInput("--kernel-rule-only cannot dry-run: pf's gateway kill does not say what it would kill");
  if (o.killAmbiguous || o.byId) throw badInput('--kernel-rule-only takes neither --kill-ambiguous nor --by-id: pf decides its partners itself');
  const table = await openTableFrom(o, selection);
  try {
    const r = table.killByKernelRule([selection], { pair: o.pair, force: !!o.force });
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ killed: r.killed, dryRun: false, phasesMs: { kill: Math.round(r.ms * 100) / 100 },
        killPath: { path: 'kernel-rule-only', filters: r.filters, kernelPath: r.path, alsoKillsNewStates: true }, left: r.left })}\n`);
    } else {
      process.stdout.write(`target:      ${table.describe().target}\npath:        pf's own gateway kill (${r.path}, ${r.filters} request${r.filters === 1 ? '' : 's'})\n` +
        `killed:      ${r.killed}\nleft:        ${r.left}\nphases (ms): kill ${r.ms.toFixed(1)}\n`);
    }
    await saveSimAfter(o, table);
  } finally {
    await table.close();
  }
}
