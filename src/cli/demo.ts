/**
 * statekill demo: the main job on any machine. Generates a realistic table in the simulated pf
 * kernel, kills one gateway's states (and their partners), and, on an identical table, times
 * what pfctl -Fs does (flush everything) for comparison.
 */
import { Option, type Command } from 'commander';
import { badInput } from '../errors.js';
import { parseCidr } from '../engine/addr.js';
import { openTable } from '../engine/table.js';
import { createSimKernel, SIM_VERSIONS, simPersonality } from '../backends/sim.js';
import { PfBackend } from '../backends/pf.js';
import { reportJson, reportText } from './report.js';
import { ExitCode, EXIT_KILL_FAILED } from './main.js';

interface DemoOpts {
  states: string;
  seed: string;
  gateway: string[];
  workers?: string;
  simVersion: string;
  compare: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('generate a large simulated pf table, kill one gateway, print the report')
    .option('--states <n>', 'states in the generated table', '1000000')
    .option('--seed <n>', 'generator seed (same seed, same table)', '1')
    .option('--gateway <addr>', 'the failed gateway (repeatable; default GW_WAN1 198.51.100.1)', (v: string, p: string[] = []) => [...p, v])
    .option('--workers <n>', 'selection worker threads (0 = inline)')
    // The same personalities as every table command (README, "The simulated pf kernel").
    .addOption(new Option('--sim-version <n>', 'FreeBSD personality of the simulated kernel (14.0 = 14.0-RELEASE)').choices([...SIM_VERSIONS]).default('14'))
    .option('--no-compare', 'skip timing flush-all on an identical table')
    .option('--json', 'print the kill report as JSON (see README)')
    .action(async (o: DemoOpts) => {
      const states = Number(o.states), seed = Number(o.seed);
      if (!Number.isInteger(states) || states < 0 || states > 50_000_000) throw badInput(`--states: expected 0..50000000, got '${o.states}'`);
      if (!Number.isInteger(seed)) throw badInput(`--seed: expected an integer, got '${o.seed}'`);
      const workers = o.workers === undefined ? undefined : Number(o.workers);
      if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0 && workers <= 64)) throw badInput('--workers: expected 0..64');
      const gateways = (o.gateway ?? ['198.51.100.1']).map((g) => parseCidr(g, '--gateway'));
      const spec = { ...simPersonality(o.simVersion), generate: { states, seed } };

      let t = performance.now();
      const sim = createSimKernel(spec);
      const genMs = performance.now() - t;
      const table = await openTable({ sim, workers });
      try {
        const { plan, report } = await table.kill([{ name: 'failed gateway', gateways }], { workers });
        const total = Object.values(report.phasesMs).reduce((a, v) => a + v, 0);
        let flushMs: number | undefined, flushed: number | undefined;
        if (o.compare) {
          const twin = PfBackend.onSim(createSimKernel(spec));
          t = performance.now();
          flushed = twin.flush();
          flushMs = performance.now() - t;
          twin.close();
        }
        if (o.json) {
          process.stdout.write(`${reportJson(plan, report)}\n`);
        } else {
          const lines = [
            `statekill demo: ${states} generated states (seed ${seed}, ${genMs.toFixed(0)} ms to generate), failed gateway ${o.gateway?.join(', ') ?? '198.51.100.1'}`,
            reportText(report, table.describe().target),
            `total:       ${total.toFixed(1)} ms (read + select + pair + plan + kill)`,
          ];
          if (flushMs !== undefined)
            lines.push(`flush-all:   ${flushMs.toFixed(1)} ms to kill all ${flushed} states of an identical table (pfctl -Fs); survivors here: ${sim.count()}`);
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        if (report.failed > 0) throw new ExitCode(EXIT_KILL_FAILED);
      } finally {
        await table.close();
      }
    });
}
