/**
 * Options every table-reading command shares: where the states come from (--device, --sim,
 * --backend conntrack) and what to select. Parsing here, once; commands stay thin.
 */
import { Option, type Command } from 'commander';
import { StatekillError, badInput } from '../errors.js';
import { parseCidr } from '../engine/addr.js';
import { openTable, type StateTable } from '../engine/table.js';
import { SIM_QUIRKS, SIM_VERSIONS, simPersonality } from '../backends/sim.js';
import { validateLabels } from '../engine/labels.js';
import { parseProto } from '../table/records.js';
import { saveTableFile, type TableFormat } from '../table/file.js';
import type { Selection } from '../engine/types.js';

export interface TableOpts {
  device?: string;
  sim?: string;
  simVersion?: string;
  simQuirk?: string[];
  simFormat?: TableFormat;
  simSave?: string;
  backend?: 'pf' | 'conntrack';
  transport?: 'auto' | 'ioctl' | 'netlink';
  netns?: string;
  workers?: string;
}

export interface SelectOpts {
  gateway?: string[];
  natAddr?: string[];
  interface?: string[];
  rtInterface?: string[];
  af?: string;
  proto?: string;
  src?: string;
  dst?: string;
  srcPort?: string;
  dstPort?: string;
  rule?: string[];
  label?: string[];
  mark?: string;
  zone?: string;
  replyDst?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addTableOptions(cmd: Command): Command {
  return cmd
    .option('--device <path>', 'pf device (default /dev/pf)')
    .option('--sim <file>', 'run against the simulated pf kernel loaded with this table (JSON Lines or a raw dump)')
    .addOption(new Option('--sim-version <n>', 'FreeBSD personality of the simulated kernel (14.0 = 14.0-RELEASE)').choices([...SIM_VERSIONS]).default('14'))
    .option('--sim-quirk <quirk>', `a real kernel's defect for the simulated kernel: ${SIM_QUIRKS.join(', ')}; repeatable`, collect)
    .addOption(new Option('--sim-format <fmt>', 'format of --sim FILE (default: detected)').choices(['jsonl', 'pf-export', 'pf-1301']))
    .option('--sim-save <file>', 'after the command, write the simulated table (JSON Lines) to this file')
    .addOption(new Option('--backend <kind>', 'kernel interface').choices(['pf', 'conntrack']).default('pf'))
    .addOption(new Option('--transport <t>', "pf kernel interface: ioctl, netlink (FreeBSD 14+), or auto (ioctl reads where they exist)").choices(['auto', 'ioctl', 'netlink']).default('auto'))
    .option('--netns <name>', 'conntrack: network namespace (a name under /run/netns or a path)')
    .option('--workers <n>', 'selection worker threads (0 = inline; default: inline below 4M states)');
}

export function addSelectOptions(cmd: Command): Command {
  return cmd
    .option('--gateway <addr[/len]>', "states routed to this gateway (pf rt_addr); ADDR%IF scopes an IPv6 link-local one; repeatable", collect)
    .option('--nat-addr <addr[/len]>', 'outbound states leaving with this source address (NAT or the firewall itself); repeatable', collect)
    .option('--interface <if>', "the state's interface (the original one for floating states); repeatable", collect)
    .option('--rt-interface <if>', 'route-to interface (FreeBSD 14+ records); repeatable', collect)
    .addOption(new Option('--af <af>', 'address family').choices(['inet', 'inet6']))
    .option('--proto <p>', 'protocol name or number')
    .option('--src <addr[/len]>', 'source (as seen in the state\'s direction)')
    .option('--dst <addr[/len]>', 'destination')
    .option('--src-port <n>', 'source port')
    .option('--dst-port <n>', 'destination port')
    .option('--rule <n>', 'rule number that created the state; repeatable', collect)
    .option('--label <label>', 'created by a main-ruleset rule carrying this label (pfctl -k label); repeatable', collect)
    .option('--mark <value[/mask]>', 'conntrack: (mark & mask) == value')
    .option('--zone <n>', 'conntrack: zone')
    .option('--reply-dst <addr[/len]>', 'conntrack: reply-tuple destination (the WAN\'s masquerade address)');
}

function int(v: string, what: string, min: number, max: number): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v)) throw badInput(`${what}: '${v}' is not a number`);
  const n = Number(v);
  if (n < min || n > max) throw badInput(`${what}: ${v} out of range ${min}-${max}`);
  return n;
}

export function selectionFrom(o: SelectOpts, backend: 'pf' | 'conntrack'): Selection {
  const s: Selection = {};
  const pfOnly = { gateway: o.gateway, natAddr: o.natAddr, interface: o.interface, rtInterface: o.rtInterface, rule: o.rule, label: o.label };
  const ctOnly = { mark: o.mark, zone: o.zone, replyDst: o.replyDst };
  for (const [k, v] of Object.entries(backend === 'pf' ? ctOnly : pfOnly))
    if (v !== undefined) throw badInput(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply to the ${backend} backend`);
  if (o.gateway) s.gateways = o.gateway.map((g) => parseCidr(g, '--gateway'));
  if (o.natAddr) s.natAddrs = o.natAddr.map((g) => parseCidr(g, '--nat-addr'));
  if (o.interface) s.interfaces = o.interface;
  if (o.rtInterface) s.rtInterfaces = o.rtInterface;
  if (o.af) s.af = o.af as 'inet' | 'inet6';
  if (o.proto !== undefined) {
    const p = parseProto(o.proto);
    if (p === undefined) throw badInput(`--proto: unknown protocol '${o.proto}'`);
    s.proto = p;
  }
  if (o.src) s.src = parseCidr(o.src, '--src');
  if (o.dst) s.dst = parseCidr(o.dst, '--dst');
  if (o.srcPort) s.srcPort = int(o.srcPort, '--src-port', 0, 65535);
  if (o.dstPort) s.dstPort = int(o.dstPort, '--dst-port', 0, 65535);
  if (o.rule) s.rules = o.rule.map((r) => int(r, '--rule', 0, 0x7fffffff));
  if (o.label) s.labels = validateLabels(o.label, backend, '--label');
  if (o.mark) {
    const [v, m] = o.mark.split('/');
    s.mark = { value: int(v, '--mark', 0, 0xffffffff), mask: m === undefined ? 0xffffffff : int(m, '--mark mask', 1, 0xffffffff) };
  }
  if (o.zone) s.zone = int(o.zone, '--zone', 0, 65535);
  if (o.replyDst) s.replyDst = parseCidr(o.replyDst, '--reply-dst');
  return s;
}

/** --sim-save: the simulated kernel lives only in this process, so keep what the command left. */
export async function saveSimAfter(o: TableOpts, table: StateTable): Promise<void> {
  if (!o.simSave) return;
  if (!o.sim) throw badInput('--sim-save needs --sim');
  const snap = await table.snapshot();
  saveTableFile(o.simSave, snap.bytes, snap.count, snap.layout, 'jsonl');
}

export function workersFrom(o: TableOpts): number | undefined {
  return o.workers === undefined ? undefined : int(o.workers, '--workers', 0, 64);
}

/** Opens what the options name. A missing /dev/pf is an error; the simulator is never a fallback. */
export async function openTableFrom(o: TableOpts, sel?: Selection): Promise<StateTable> {
  const workers = workersFrom(o);
  if (o.backend === 'conntrack') {
    if (o.sim || o.device) throw badInput('--sim and --device are pf options; the conntrack backend reads the running kernel');
    return openTable({
      conntrack: { netns: o.netns, af: sel?.af, zone: sel?.zone, readFilter: sel?.mark ? { mark: sel.mark } : undefined },
      workers,
    });
  }
  if (o.sim && o.device) throw badInput('--sim and --device exclude each other');
  const transport = o.transport;
  if (o.sim) return openTable({ sim: { file: o.sim, format: o.simFormat, ...simPersonality(o.simVersion ?? '14', o.simQuirk) }, workers, transport });
  if (o.simQuirk) throw badInput('--sim-quirk needs --sim');
  try {
    return await openTable({ device: o.device ?? '/dev/pf', workers, transport });
  } catch (e) {
    if (e instanceof StatekillError && !o.device && (e.code === 'ENOENT' || e.code === 'ENODEV' || e.code === 'ENXIO'))
      throw new StatekillError(`${e.message}. To run against the simulated kernel, name a table with --sim FILE (or try \`statekill demo\`)`, e.errno, e.code);
    throw e;
  }
}
