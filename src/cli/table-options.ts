/**
 * Options every table-reading command shares: where the states come from (--device, --sim,
 * --backend conntrack) and what to select. Parsing here, once; commands stay thin.
 */
import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { StatekillError, badInput } from '../errors.js';
import { parseCidr } from '../engine/addr.js';
import { quote } from '../engine/show.js';
import { openTable, type StateTable } from '../engine/table.js';
import { createSimKernel, loadIntoSim, SIM_QUIRKS, SIM_VERSIONS, simPersonality } from '../backends/sim.js';
import { validateSelections, type BackendKind, type ValidSelections } from '../engine/validate.js';
import { parseProto } from '../table/records.js';
import { loadTableFile, saveTableFile, type TableFormat } from '../table/file.js';
import type { Selection, StateId } from '../engine/types.js';

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

/** Every selector collects its values: a repeated selector ORs them (or is refused where one value is all it takes). */
export interface SelectOpts {
  gateway?: string[];
  natAddr?: string[];
  interface?: string[];
  rtInterface?: string[];
  af?: string[];
  proto?: string[];
  src?: string[];
  dst?: string[];
  srcPort?: string[];
  dstPort?: string[];
  rule?: string[];
  label?: string[];
  id?: string[];
  mark?: string[];
  zone?: string[];
  replyDst?: string[];
  force?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addTableOptions(cmd: Command): Command {
  return cmd
    .option('--device <path>', 'pf device (default /dev/pf)')
    .option('--sim <file>', 'run against the simulated pf kernel loaded with this table (JSON Lines or a raw dump)')
    .addOption(new Option('--sim-version <n>', 'FreeBSD personality of the simulated kernel (14.0 = 14.0-RELEASE; default 14)').choices([...SIM_VERSIONS]))
    .option('--sim-quirk <quirk>', `a real kernel's defect for the simulated kernel: ${SIM_QUIRKS.join(', ')}; repeatable`, collect)
    .addOption(new Option('--sim-format <fmt>', 'format of --sim FILE (default: detected)').choices(['jsonl', 'pf-export', 'pf-1301']))
    .addOption(new Option('--backend <kind>', 'kernel interface').choices(['pf', 'conntrack']).default('pf'))
    .addOption(new Option('--transport <t>', "pf kernel interface: ioctl, netlink (FreeBSD 14+), or auto (ioctl reads where they exist; the default)").choices(['auto', 'ioctl', 'netlink']))
    .option('--netns <name>', 'conntrack: network namespace (a name under /run/netns or a path)')
    .option('--workers <n>', 'selection worker threads (0 = inline; default: inline below 4M states)');
}

export function addSelectOptions(cmd: Command): Command {
  return cmd
    .option('--gateway <addr[/len]>', "states routed to this gateway (pf rt_addr); ADDR%IF scopes an IPv6 link-local one (required for fe80::/10)", collect)
    .option('--nat-addr <addr[/len]>', 'outbound states leaving with this source address (NAT or the firewall itself)', collect)
    .option('--interface <if>', "the state's interface (the original one for floating states)", collect)
    .option('--rt-interface <if>', 'route-to interface (FreeBSD 14+ records)', collect)
    .option('--af <af>', 'address family: inet or inet6', collect)
    .option('--proto <p>', 'protocol name or number', collect)
    .option('--src <addr[/len]>', 'source (as seen in the state\'s direction)', collect)
    .option('--dst <addr[/len]>', 'destination', collect)
    .option('--src-port <n>', 'source port', collect)
    .option('--dst-port <n>', 'destination port', collect)
    .option('--rule <n>', 'rule number that created the state', collect)
    .option('--label <label>', 'pf: created by a main-ruleset rule carrying this label (any of its labels, exact, as pfctl -k label)', collect)
    .option('--id <id[/creatorid]>', 'pf: state id in hex as pfctl -ss -vv and list print it, optionally with its creator id; conntrack: the entry id (decimal, or 0x hex)', collect)
    .option('--mark <value[/mask]>', 'conntrack: (mark & mask) == value (one value)', collect)
    .option('--zone <n>', 'conntrack: zone (one value)', collect)
    .option('--reply-dst <addr[/len]>', 'conntrack: reply-tuple destination, the WAN\'s masquerade address (one value)', collect)
    .option('--force', 'accept a /0 prefix, host bits below the prefix length, or an unscoped link-local gateway');
}

/** A decimal or 0x-hex integer: syntax only; ranges are validate.ts's. */
function int(v: string, what: string): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v)) throw badInput(`${what}: ${quote(v)} is not a number`);
  return Number(v);
}

function only(values: string[] | undefined, flag: string): string | undefined {
  if (values && values.length > 1) throw badInput(`${flag} takes one value (given ${values.length} times)`);
  return values?.[0];
}

/** pf: ID[/CREATORID] in hex, as pfctl -k id reads it (sscanf "%jx/%x") and pfctl -ss -vv prints it. */
function stateId(v: string, backend: BackendKind): StateId {
  if (backend === 'conntrack') {
    if (!/^(0x[0-9a-f]{1,8}|\d{1,10})$/i.test(v)) throw badInput(`--id: ${quote(v)} is not a conntrack entry id (decimal, or 0x hex)`);
    return { id: BigInt(v) };
  }
  const m = v.match(/^(?:0x)?([0-9a-f]{1,16})(?:\/(?:0x)?([0-9a-f]{1,8}))?$/i);
  if (!m) throw badInput(`--id: ${quote(v)} is not ID[/CREATORID] (up to 16 and 8 hex digits, as pfctl -ss -vv prints them)`);
  const id: StateId = { id: BigInt(`0x${m[1]}`) };
  if (m[2] !== undefined) id.creatorid = parseInt(m[2], 16);
  return id;
}

/**
 * The CLI's own layer: strings into a Selection, syntax only. An option given with an empty value
 * is a value (refused by the parsers or by validate.ts), never "absent".
 */
export function selectionFrom(o: SelectOpts, backend: BackendKind): Selection {
  const s: Selection = {};
  const one = <T>(values: string[] | undefined, f: (v: string) => T): T | T[] | undefined =>
    values === undefined ? undefined : values.length === 1 ? f(values[0]) : values.map(f);
  if (o.gateway !== undefined) s.gateways = o.gateway.map((g) => parseCidr(g, '--gateway'));
  if (o.natAddr !== undefined) s.natAddrs = o.natAddr.map((g) => parseCidr(g, '--nat-addr'));
  if (o.interface !== undefined) s.interfaces = [...o.interface];
  if (o.rtInterface !== undefined) s.rtInterfaces = [...o.rtInterface];
  if (o.af !== undefined) s.af = one(o.af, (v) => v as 'inet');
  if (o.proto !== undefined)
    s.proto = one(o.proto, (v) => {
      const p = parseProto(v);
      if (p === undefined) throw badInput(`--proto: unknown protocol ${quote(v)}`);
      return p;
    });
  if (o.src !== undefined) s.src = one(o.src, (v) => parseCidr(v, '--src'));
  if (o.dst !== undefined) s.dst = one(o.dst, (v) => parseCidr(v, '--dst'));
  if (o.srcPort !== undefined) s.srcPort = one(o.srcPort, (v) => int(v, '--src-port'));
  if (o.dstPort !== undefined) s.dstPort = one(o.dstPort, (v) => int(v, '--dst-port'));
  if (o.rule !== undefined) s.rules = o.rule.map((r) => int(r, '--rule'));
  if (o.label !== undefined) s.labels = [...o.label];
  if (o.id !== undefined) s.ids = o.id.map((v) => stateId(v, backend));
  const mark = only(o.mark, '--mark');
  if (mark !== undefined) {
    const m = mark.match(/^([^/]*)(?:\/([^/]*))?$/);
    if (!m) throw badInput(`--mark: ${quote(mark)} is not VALUE[/MASK]`);
    s.mark = { value: int(m[1], '--mark'), mask: m[2] === undefined ? 0xffffffff : int(m[2], '--mark mask') };
  }
  const zone = only(o.zone, '--zone');
  if (zone !== undefined) s.zone = int(zone, '--zone');
  const replyDst = only(o.replyDst, '--reply-dst');
  if (replyDst !== undefined) s.replyDst = parseCidr(replyDst, '--reply-dst');
  return s;
}

/**
 * The selection the options give, through the library's one validation point (named by flags),
 * before any kernel is opened. `undefined` when no selector was given at all (list: everything).
 */
export function checkedSelection(o: SelectOpts, backend: BackendKind, opts: { emptyMeansAll?: boolean } = {}): ValidSelections | undefined {
  const s = selectionFrom(o, backend);
  if (opts.emptyMeansAll && Object.keys(s).length === 0) return undefined;
  return validateSelections([s], { backend, force: !!o.force, cli: true });
}

function nonEmpty(v: string | undefined, flag: string): string | undefined {
  if (v === '') throw badInput(`${flag}: an empty value is not a ${flag === '--netns' ? 'namespace (leave --netns out for this one)' : 'path'}`);
  return v;
}

/** Options naming paths and namespaces: an empty value is refused, never "the default". */
export function checkTableOpts(o: TableOpts): void {
  nonEmpty(o.device, '--device');
  nonEmpty(o.sim, '--sim');
  nonEmpty(o.simSave, '--sim-save');
  nonEmpty(o.netns, '--netns');
  refuseSimOptionsWithoutSim(o);
  if (o.backend === 'conntrack' && o.transport !== undefined) throw badInput('--transport applies to pf (the conntrack backend has one kernel interface)');
  if (o.simSave !== undefined) {
    if (o.sim === undefined) throw badInput('--sim-save needs --sim');
    checkWritable(o.simSave, '--sim-save');
  }
  workersFrom(o);
}

/**
 * Refuses an output path that cannot be written, before anything is read or killed: an existing
 * one must be a regular file that opens for writing; a new one is created and removed again (what
 * proves a directory writable, even for root). A file that still fails to take the data later
 * (/proc/version) is a one-line error then.
 */
export function checkWritable(path: string, what: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    st = undefined;
  }
  try {
    if (st) {
      if (!st.isFile()) throw badInput(`${what}: ${quote(path)} exists and is not a regular file`);
      closeSync(openSync(path, 'r+'));
    } else {
      closeSync(openSync(path, 'wx'));
      unlinkSync(path);
    }
  } catch (e) {
    if (e instanceof StatekillError) throw e;
    throw badInput(`${what}: cannot write ${quote(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * The main ruleset's rule labels, for JSON Lines output (the state records carry none): read from
 * the kernel (a --sim file's labels were loaded into the simulated kernel's rules). None where the
 * backend has no rules (conntrack) or the kernel does not answer the rule commands.
 */
export function ruleLabelsOf(table: StateTable): Map<number, string[]> | undefined {
  if (!table.backend.ruleLabels) return undefined;
  try {
    return table.ruleLabels();
  } catch {
    return undefined; // states are still listed and saved, without labels
  }
}

/**
 * The simulator's options have no defaults, so a given one is known: without --sim it would be
 * ignored and the command would run on the real /dev/pf, so it is refused (table commands, doctor).
 */
export function refuseSimOptionsWithoutSim(o: { sim?: string; simVersion?: string; simFormat?: string; simQuirk?: string[] }): void {
  if (o.sim) return; // '' is no table (the table commands refuse it first)
  for (const [v, flag] of [[o.simVersion, '--sim-version'], [o.simFormat, '--sim-format'], [o.simQuirk, '--sim-quirk']] as const)
    if (v !== undefined) throw badInput(`${flag} needs --sim`);
}

/** kill's --sim-save (the only command that changes the table): the option itself. */
export function addSimSaveOption(cmd: Command): Command {
  return cmd.option('--sim-save <file>', 'after the kill, write the simulated table it left (JSON Lines) to this file');
}

/** --sim-save: the simulated kernel lives only in this process, so keep what the command left. */
export async function saveSimAfter(o: TableOpts, table: StateTable): Promise<void> {
  if (o.simSave === undefined) return;
  if (o.sim === undefined) throw badInput('--sim-save needs --sim');
  const snap = await table.snapshot();
  saveTableFile(o.simSave, snap.bytes, snap.count, snap.layout, 'jsonl', ruleLabelsOf(table));
}

export function workersFrom(o: TableOpts): number | undefined {
  if (o.workers === undefined) return undefined;
  const n = int(o.workers, '--workers');
  if (n > 64) throw badInput(`--workers: ${n} out of range 0-64`);
  return n;
}

/**
 * The one family a selection names ('inet', or 'inet' repeated), else undefined (both). It scopes the
 * read and `--kernel-filter`'s flush: "--af inet6 --af inet6" taken as "both" let the flush delete IPv4.
 */
function oneFamily<T>(v: T | T[] | undefined): T | undefined {
  const set = new Set(Array.isArray(v) ? v : v === undefined ? [] : [v]);
  return set.size === 1 ? [...set][0] : undefined;
}

/** Opens what the options name. A missing /dev/pf is an error; the simulator is never a fallback. */
export async function openTableFrom(o: TableOpts, sel?: Selection): Promise<StateTable> {
  checkTableOpts(o);
  const workers = workersFrom(o);
  if (o.backend === 'conntrack') {
    if (o.sim !== undefined || o.device !== undefined) throw badInput('--sim and --device are pf options; the conntrack backend reads the running kernel');
    return openTable({
      conntrack: { netns: o.netns, af: oneFamily(sel?.af), zone: sel?.zone, readFilter: sel?.mark ? { mark: sel.mark } : undefined },
      workers,
    });
  }
  if (o.netns !== undefined) throw badInput('--netns applies to --backend conntrack');
  if (o.sim !== undefined && o.device !== undefined) throw badInput('--sim and --device exclude each other');
  const transport = o.transport;
  if (o.sim !== undefined) {
    const t = loadTableFile(o.sim, o.simFormat);
    const sim = createSimKernel(simPersonality(o.simVersion ?? '14', o.simQuirk));
    loadIntoSim(sim, t);
    return openTable({ sim, workers, transport });
  }
  try {
    return await openTable({ device: o.device ?? '/dev/pf', workers, transport });
  } catch (e) {
    if (e instanceof StatekillError && o.device === undefined && (e.code === 'ENOENT' || e.code === 'ENODEV' || e.code === 'ENXIO'))
      throw new StatekillError(`${e.message}. To run against the simulated kernel, name a table with --sim FILE (or try \`statekill demo\`)`, e.errno, e.code);
    throw e;
  }
}
