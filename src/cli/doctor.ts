/**
 * statekill doctor (alias selftest): read-only checks of the pf kernel (src/backends/doctor.ts).
 * Exit codes: 0 every check passed (warnings allowed), 1 a check failed (named on stderr, and in
 * `reasons` with --json), 2 bad input. `hook install` runs it and refuses a box that fails.
 */
import { Option, type Command } from 'commander';
import { badInput } from '../errors.js';
import { createSimKernel, SIM_QUIRKS, SIM_VERSIONS, simPersonality } from '../backends/sim.js';
import { runDoctor, type DoctorReport } from '../backends/doctor.js';
import { ExitCode } from './main.js';
import { refuseSimOptionsWithoutSim } from './table-options.js';
import type { TableFormat } from '../table/file.js';

export const EXIT_DOCTOR_FAILED = 1;

interface DoctorOpts {
  device?: string;
  sim?: string;
  simVersion?: string;
  simQuirk?: string[];
  simFormat?: TableFormat;
  transport: 'auto' | 'ioctl' | 'netlink';
  sample: string;
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const MARK = { pass: 'ok  ', warn: 'warn', fail: 'FAIL', skip: 'skip' } as const;

export function reportText(r: DoctorReport): string {
  const p = r.probe;
  const lines = [
    `target:            ${p.target}`,
    `ioctls answered:   ${p.ioctl.answered.join(', ') || `none${p.ioctl.error ? ` (${p.ioctl.error})` : ''}`}`,
    `netlink (pfctl):   ${p.netlink.commands.length ? `family ${p.netlink.familyId} v${p.netlink.familyVersion}: ${p.netlink.commands.join(', ')}` : `none${p.netlink.error ? ` (${p.netlink.error})` : ''}`}`,
    `state export:      ${p.stateExportVersion ?? 'n/a (pfsync_state records)'}`,
    `COMPAT_FREEBSD14:  ${p.compatFreebsd14}`,
    `transport:         ${p.transport || 'n/a'}`,
    `paths:             ${Object.entries(p.paths).map(([k, v]) => `${k} ${v}`).join(', ') || 'n/a'}`,
    `nat kill filter:   ${p.natKill ? 'honoured (psk_nat)' : 'refused (no psk_nat)'}`,
    '',
    ...r.checks.map((c) => `${MARK[c.status]}  ${c.name.padEnd(16)} ${c.detail}`),
    '',
    r.ok ? 'doctor: all checks passed' : `doctor: FAILED: ${r.reasons.length} check(s)`,
  ];
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .alias('selftest')
    .description('check, read-only, that this pf kernel behaves as statekill expects (exit 1 names what is off)')
    .option('--device <path>', 'pf device (default /dev/pf)')
    .option('--sim <file>', 'check the simulated pf kernel loaded with this table instead')
    .addOption(new Option('--sim-version <n>', 'FreeBSD personality of the simulated kernel (default 14)').choices([...SIM_VERSIONS]))
    .option('--sim-quirk <quirk>', `a real kernel's defect for the simulated kernel: ${SIM_QUIRKS.join(', ')}; repeatable`, collect)
    .addOption(new Option('--sim-format <fmt>', 'format of --sim FILE (default: detected)').choices(['jsonl', 'pf-export', 'pf-1301']))
    .addOption(new Option('--transport <t>', 'pf kernel interface to check').choices(['auto', 'ioctl', 'netlink']).default('auto'))
    .option('--sample <n>', 'states decoded and checked one by one', '2000')
    .option('--json', 'print one JSON object: { ok, probe, checks, reasons }')
    .action(async (o: DoctorOpts) => {
      if (o.sim && o.device) throw badInput('--sim and --device exclude each other');
      refuseSimOptionsWithoutSim(o);
      if (!/^\d+$/.test(o.sample) || Number(o.sample) < 1 || Number(o.sample) > 10_000_000)
        throw badInput(`--sample: expected 1-10000000, got '${o.sample}'`);
      const sim = o.sim ? createSimKernel({ file: o.sim, format: o.simFormat, ...simPersonality(o.simVersion ?? '14', o.simQuirk) }) : undefined;
      const r = await runDoctor({ sim, device: o.device, transport: o.transport, sample: Number(o.sample) });
      process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : reportText(r));
      if (!r.ok) {
        if (o.json) for (const reason of r.reasons) process.stderr.write(`statekill doctor: ${reason}\n`);
        throw new ExitCode(EXIT_DOCTOR_FAILED);
      }
    });
}
