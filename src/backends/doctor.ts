/**
 * `statekill doctor`: read-only checks of a pf kernel before statekill is trusted with it (the
 * hooks' install runs it). It probes what answers (ioctls, the pfctl netlink family and its
 * commands, the state export version, COMPAT_FREEBSD14), names the read/kill paths statekill will
 * use, reads the whole table through the preflight, checks a sample of decoded states, checks the
 * kernel-side read filter against the unfiltered read, reads rule labels, and kills an id no
 * kernel has handed out, which must answer "not found". Any failed check is named in `reasons`.
 */
import { native } from '../native/index.js';
import { StatekillError } from '../errors.js';
import { openTable, PFNL_CMD_GET_STATUS, type StateTable } from '../engine/table.js';
import type { PfDeviceHandle } from '../native/types-pf.js';
import type { PfNetlinkHandle } from '../native/types-netlink.js';
import type { SimKernelHandle } from '../native/types-sim.js';
import type { BackendDescription, Snapshot } from '../engine/types.js';
import { familyHonoursNat } from './pf-nat.js';

export interface DoctorOptions {
  /** The real pf device (default /dev/pf) ... */
  device?: string;
  /** ... or a simulated kernel. */
  sim?: SimKernelHandle;
  transport?: 'auto' | 'ioctl' | 'netlink';
  /** States decoded and checked one by one (default 2000, spread over the table). */
  sample?: number;
}

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface DoctorProbe {
  target: string;
  ioctl: { answered: string[]; stateVersion: number; error?: string };
  netlink: { familyId: number; familyVersion: number; ops: number[]; commands: string[]; error?: string };
  /** pf_state_export version of the records read (20230404 / 20210706), null for 1301 records. */
  stateExportVersion: number | null;
  compatFreebsd14: 'present' | 'absent' | 'n/a';
  /** The transport and paths statekill will use with these options. */
  transport: string;
  paths: Record<string, string>;
  natKill: boolean;
  hostid: number | null;
  states: number | null;
}

export interface DoctorReport {
  ok: boolean;
  probe: DoctorProbe;
  checks: DoctorCheck[];
  /** One line per failed check: "<check>: <why>". */
  reasons: string[];
}

const NL_NAMES: Record<number, string> = {
  1: 'GETSTATES', 2: 'GETCREATORS', 3: 'START', 4: 'STOP', 5: 'ADDRULE', 6: 'GETRULES', 7: 'GETRULE', 8: 'CLRSTATES',
  9: 'KILLSTATES', 10: 'SET_STATUSIF', 11: 'GET_STATUS', 12: 'CLEAR_STATUS', 13: 'NATLOOK', 14: 'SET_DEBUG', 15: 'SET_TIMEOUT',
  16: 'GET_TIMEOUT', 17: 'SET_LIMIT', 18: 'GET_LIMIT', 19: 'BEGIN_ADDRS', 20: 'ADD_ADDR', 21: 'GET_ADDRS', 22: 'GET_ADDR',
  23: 'GET_RULESETS', 24: 'GET_RULESET', 25: 'GET_SRCNODES', 26: 'CLEAR_TABLES', 27: 'ADD_TABLE', 28: 'DEL_TABLE',
  29: 'GET_TSTATS', 30: 'CLR_TSTATS', 31: 'CLR_ADDRS', 32: 'TABLE_ADD_ADDR', 33: 'TABLE_DEL_ADDR',
};
// An id no pf hands out: pf's ids are a per-CPU counter, big-endian, with the CPU in the top byte
// (sys/netpfil/pf/pf.c); 0xfe...fe would take 2^56 states on CPU 254.
const UNISSUED_ID = 0xfefefefefefefefen;
const AF_INET = 2, AF_INET6 = 28;

function errText(e: unknown): string {
  return e instanceof StatekillError ? `${e.message} (${e.code})` : String((e as Error)?.message ?? e);
}

interface Offsets { stride: number; id: number; key: number; af: number; proto: number; dir: number; rt: number; version: number; priv: number }
const EXPORT: Offsets = { stride: 384, id: 8, key: 48, af: 264, proto: 265, dir: 266, rt: 294, version: 0, priv: 376 };
const S1301: Offsets = { stride: 242, id: 0, key: 24, af: 232, proto: 233, dir: 234, rt: -1, version: -1, priv: -1 };

/** Sanity of one record: a list of what is wrong (empty = fine) and port-0 transport states. */
function recordProblems(b: Uint8Array, i: number, o: Offsets): { bad: string[]; portZero: boolean } {
  const r = i * o.stride;
  const bad: string[] = [];
  const af = b[r + o.af];
  if (af !== AF_INET && af !== AF_INET6) bad.push(`family ${af}`);
  const dir = b[r + o.dir];
  if (dir !== 1 && dir !== 2) bad.push(`direction ${dir}`);
  if (b.subarray(r + o.id, r + o.id + 8).every((x) => x === 0)) bad.push('id 0');
  if (o.rt >= 0 && ![0, 2, 3, 4].includes(b[r + o.rt])) bad.push(`route type ${b[r + o.rt]}`);
  const perKey = o.priv >= 0 && (b[r + o.priv] & 1) !== 0;
  for (const k of [0, 1]) {
    const kaf = perKey ? b[r + o.priv + 2 + 2 * k] : af;
    if (kaf !== AF_INET && kaf !== AF_INET6) bad.push(`key ${k} family ${kaf}`);
    if (kaf === AF_INET)
      for (const a of [0, 1]) {
        const off = r + o.key + 36 * k + 16 * a;
        if (!b.subarray(off + 4, off + 16).every((x) => x === 0)) bad.push(`key ${k} IPv4 address with bytes past the fourth`);
      }
  }
  const proto = b[r + o.proto];
  const ports = new DataView(b.buffer, b.byteOffset + r + o.key + 32, 4);
  const portZero = (proto === 6 || proto === 17 || proto === 132) && (ports.getUint16(0) === 0 || ports.getUint16(2) === 0);
  return { bad, portZero };
}

function uniqueIds(snap: Snapshot): { duplicates: number; creators: number[] } {
  const n = snap.count;
  const ids = new BigUint64Array(n);
  const creators = new Uint32Array(n);
  native.pfGatherIds(snap.bytes, snap.layout === 'pf-1301' ? 242 : 384, Int32Array.from({ length: n }, (_, i) => i), ids, creators);
  const sorted = ids.slice().sort();
  const dupIds = new Set<bigint>();
  for (let i = 1; i < n; i++) if (sorted[i] === sorted[i - 1]) dupIds.add(sorted[i]);
  let duplicates = 0;
  if (dupIds.size) {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++)
      if (dupIds.has(ids[i])) {
        const k = `${ids[i]}/${creators[i]}`;
        if (seen.has(k)) duplicates++;
        seen.add(k);
      }
  }
  return { duplicates, creators: [...new Set(creators)].sort((a, b) => a - b) };
}

async function drain(nl: PfNetlinkHandle, filter: Parameters<PfNetlinkHandle['startRead']>[0]): Promise<Uint8Array> {
  nl.startRead(filter);
  const parts: Uint8Array[] = [];
  const view = new Uint8Array(16384 * 384);
  for (;;) {
    const r = nl.readChunk(view);
    parts.push(view.slice(0, r.records * 384));
    if (r.done) return Buffer.concat(parts);
  }
}

const idKey = (b: Uint8Array, i: number) => Buffer.from(b.subarray(i * 384 + 8, i * 384 + 16)).toString('hex') +
  Buffer.from(b.subarray(i * 384 + 256, i * 384 + 260)).toString('hex');

function hasAddr(b: Uint8Array, i: number, addr: Uint8Array, mask: Uint8Array): boolean {
  for (const k of [0, 1])
    for (const a of [0, 1]) {
      const off = i * 384 + 48 + 36 * k + 16 * a;
      let eq = true;
      for (let j = 0; j < 16 && eq; j++) eq = (b[off + j] & mask[j]) === (addr[j] & mask[j]);
      if (eq) return true;
    }
  return false;
}

/** The kernel-side address filter against the unfiltered read (churn allowed for). */
async function checkReadFilter(nl: PfNetlinkHandle, full: Snapshot): Promise<DoctorCheck> {
  const name = 'read-filter';
  if (full.layout !== 'pf-export' || full.count === 0) return { name, status: 'skip', detail: 'no states to compare' };
  const i = Math.floor(full.count / 2);
  const af = full.bytes[i * 384 + 264];
  const addr = full.bytes.slice(i * 384 + 48, i * 384 + 64);
  const mask = new Uint8Array(16).fill(0xff, 0, af === AF_INET ? 4 : 16);
  const expected = new Set<string>();
  for (let j = 0; j < full.count; j++) if (hasAddr(full.bytes, j, addr, mask)) expected.add(idKey(full.bytes, j));
  const got = await drain(nl, { addr, mask });
  const n = got.length / 384;
  let outside = 0, missing = 0;
  const gotIds = new Set<string>();
  for (let j = 0; j < n; j++) {
    gotIds.add(idKey(got, j));
    if (!hasAddr(got, j, addr, mask)) outside++;
  }
  for (const k of expected) if (!gotIds.has(k)) missing++;
  const tolerance = Math.max(2, Math.ceil(expected.size * 0.05));
  if (missing > tolerance)
    return { name, status: 'fail', detail: `GETSTATES filtered by one address lost ${missing} of its ${expected.size} states (kept ${n})` };
  if (outside > 0 && n >= full.count * 0.9)
    return { name, status: 'pass', detail: 'the kernel ignores GETSTATES filters (14.0): statekill reads in full' };
  if (outside > 0)
    return { name, status: 'fail', detail: `GETSTATES filtered by one address returned ${outside} states without it: not the filter statekill models` };
  return { name, status: 'pass', detail: `filtered by one address: ${n} states, the same as the full read's ${expected.size}` };
}

/** Whether GETSTATES with PF_ST_AF alone filters by protocol (the late-2023 pf_nl.c defect). */
async function checkAfDefect(nl: PfNetlinkHandle, full: Snapshot): Promise<DoctorCheck> {
  const name = 'af-filter';
  if (full.layout !== 'pf-export' || full.count === 0) return { name, status: 'skip', detail: 'no states to compare' };
  let inet = 0;
  for (let j = 0; j < full.count; j++) if (full.bytes[j * 384 + 264] === AF_INET) inet++;
  const got = await drain(nl, { af: AF_INET, afAlone: true });
  const n = got.length / 384;
  const allProto2 = Array.from({ length: n }, (_, j) => got[j * 384 + 265]).every((p) => p === AF_INET);
  if (inet > 0 && allProto2 && n < inet)
    return { name, status: 'pass', detail: `this kernel parses PF_ST_AF into the protocol filter (af inet alone kept ${n} of ${inet} IPv4 states); statekill never filters by family and sends PF_ST_PROTO after any PF_ST_AF` };
  return { name, status: 'pass', detail: 'PF_ST_AF filters by family (statekill does not use it: af-to partners cross families)' };
}

export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const add = (c: DoctorCheck) => checks.push(c);
  const target = opts.sim ? opts.sim.describe().name : opts.device ?? '/dev/pf';
  const probe: DoctorProbe = {
    target, ioctl: { answered: [], stateVersion: 0 }, netlink: { familyId: 0, familyVersion: 0, ops: [], commands: [] },
    stateExportVersion: null, compatFreebsd14: 'n/a', transport: '', paths: {}, natKill: false, hostid: null, states: null,
  };

  // ---- what answers -------------------------------------------------------------------------------
  let dev: PfDeviceHandle | undefined;
  try {
    dev = opts.sim ? new native.PfDevice(opts.sim) : new native.PfDevice(opts.device ?? '/dev/pf');
    const d = dev.describe();
    probe.ioctl.answered = [d.read, d.kill, d.killById, d.status].filter((x, i, a) => x !== 'none' && a.indexOf(x) === i);
    probe.ioctl.stateVersion = d.stateVersion;
  } catch (e) {
    probe.ioctl.error = errText(e);
  }
  let nl: PfNetlinkHandle | undefined;
  try {
    nl = opts.sim ? new native.PfNetlink(opts.sim) : new native.PfNetlink();
    const d = nl.describe();
    Object.assign(probe.netlink, { familyId: d.familyId, familyVersion: d.familyVersion, ops: d.ops });
    probe.netlink.commands = d.ops.map((c) => NL_NAMES[c] ?? `cmd ${c}`);
    probe.natKill = familyHonoursNat(d.ops);
  } catch (e) {
    probe.netlink.error = errText(e);
  }
  const era15 = probe.netlink.ops.includes(PFNL_CMD_GET_STATUS);
  const structRead = probe.ioctl.answered.some((p) => p.startsWith('DIOCGETSTATES'));
  probe.compatFreebsd14 = !nl ? 'n/a' : era15 ? (structRead ? 'present' : 'absent') : 'n/a';
  if (!dev && !nl) {
    add({ name: 'probe', status: 'fail', detail: `no pf interface answered: ioctl: ${probe.ioctl.error}; netlink: ${probe.netlink.error}` });
    return finish(probe, checks, [dev, nl]);
  }
  add({ name: 'probe', status: 'pass', detail: `ioctls: ${probe.ioctl.answered.join(', ') || 'none'}; netlink: ${nl ? probe.netlink.commands.join(', ') : 'no pfctl family'}` });

  // ---- the paths statekill will use, the counter, the whole read through the preflight -------------
  let table: StateTable | undefined;
  try {
    table = await openTable(opts.sim ? { sim: opts.sim, transport: opts.transport } : { device: opts.device ?? '/dev/pf', transport: opts.transport });
    const d: BackendDescription = table.describe();
    probe.transport = (d.transport as string | undefined) ?? 'ioctl';
    probe.paths = d.paths;
    if (era15 && probe.transport !== 'netlink')
      add({ name: 'transport', status: 'warn', detail: 'a 15-era kernel read over the ioctls: af-to (per-key) and next-hop families are not carried; --transport auto or netlink reads them' });
    else add({ name: 'transport', status: 'pass', detail: `${probe.transport}: ${Object.entries(d.paths).map(([k, v]) => `${k} ${v}`).join(', ')}` });
  } catch (e) {
    add({ name: 'open', status: 'fail', detail: errText(e) });
    return finish(probe, checks, [dev, nl]);
  }
  try {
    try {
      const st = table.backend.status?.();
      if (st) {
        probe.hostid = st.hostid;
        probe.states = st.states;
        add({ name: 'status', status: 'pass', detail: `${st.states} states by the kernel's counter (${st.source})` });
      } else add({ name: 'status', status: 'fail', detail: 'the kernel reports no state counter: reads cannot be checked' });
    } catch (e) {
      add({ name: 'status', status: 'fail', detail: errText(e) });
    }
    let snap: Snapshot | undefined;
    try {
      const before = table.backend.status?.().states;
      snap = await table.snapshot(); // the preflight every kill goes through
      const after = table.backend.status?.().states;
      // Stricter than the kill preflight: on a quiet table (the counter unchanged across the read)
      // a dump more than a few states short of the counter is a dump that loses states.
      const quietShort = before !== undefined && before === after ? before - snap.count : 0;
      if (quietShort > Math.max(2, Math.ceil(before! * 0.02)))
        add({ name: 'read', status: 'fail', detail: `the dump holds ${snap.count} states but the kernel counts ${before} on a quiet table: it loses states` });
      else add({ name: 'read', status: 'pass', detail: `${snap.count} states read (${snap.layout}), consistent with the kernel's counter` });
    } catch (e) {
      add({ name: 'read', status: 'fail', detail: errText(e) });
    }

    if (snap) {
      // ---- decoded states: families, addresses, ports, directions, ids, creators -----------------------
      const o = snap.layout === 'pf-1301' ? S1301 : EXPORT;
      if (snap.count > 0 && o.version >= 0) {
        probe.stateExportVersion = Number(new DataView(snap.bytes.buffer, snap.bytes.byteOffset).getBigUint64(0, true));
      }
      const sample = Math.min(snap.count, Math.max(1, opts.sample ?? 2000));
      const bad: string[] = [];
      let portZero = 0;
      for (let k = 0; k < sample; k++) {
        const i = Math.floor((k * snap.count) / sample);
        const p = recordProblems(snap.bytes, i, o);
        if (p.bad.length && bad.length < 5) bad.push(`state ${i}: ${p.bad.join(', ')}`);
        if (p.portZero) portZero++;
      }
      const versionOk = probe.stateExportVersion === null || snap.count === 0 || [20210706, 20230404].includes(probe.stateExportVersion);
      if (bad.length || !versionOk)
        add({ name: 'sample', status: 'fail', detail: [...bad, ...(versionOk ? [] : [`export version ${probe.stateExportVersion}`])].join('; ') });
      else add({ name: 'sample', status: portZero ? 'warn' : 'pass', detail: `${sample} states decoded: families, addresses, directions, route types sane` +
        (portZero ? `; ${portZero} TCP/UDP/SCTP states with port 0` : '') });
      const u = uniqueIds(snap);
      add({ name: 'ids', status: u.duplicates ? 'fail' : 'pass', detail: u.duplicates ? `${u.duplicates} duplicate (id, creatorid) pairs` :
        `all ${snap.count} (id, creatorid) unique` });
      const shown = u.creators.slice(0, 16).map((c) => c.toString(16).padStart(8, '0')).join(', ');
      const own = probe.hostid !== null && probe.hostid !== 0 && snap.count > 0 ? u.creators.includes(probe.hostid) : true;
      add({ name: 'creators', status: own ? 'pass' : 'warn', detail: `${u.creators.length} creator id(s): ${shown}${u.creators.length > 16 ? ', ...' : ''}` +
        (own ? '' : `; none is this host's (${probe.hostid!.toString(16).padStart(8, '0')})`) });

      // ---- the kernel-side read filters (netlink) ---------------------------------------------------
      if (nl && probe.netlink.ops.includes(1) && snap.layout === 'pf-export') {
        try {
          add(await checkReadFilter(nl, snap));
          add(await checkAfDefect(nl, snap));
        } catch (e) {
          add({ name: 'read-filter', status: 'fail', detail: errText(e) });
        }
      }

      // ---- a kill of an id no kernel has handed out answers "not found" ---------------------------------
      const creators = new Set(uniqueIds(snap).creators);
      let creator = 0xfffffffe;
      while (creators.has(creator)) creator--;
      const stride = snap.layout === 'pf-1301' ? 242 : 384;
      const rec = new Uint8Array(new SharedArrayBuffer(stride));
      if (snap.count) rec.set(snap.bytes.subarray(0, stride));
      const dv = new DataView(rec.buffer);
      dv.setBigUint64(o.id, UNISSUED_ID, true);
      dv.setUint32(snap.layout === 'pf-1301' ? 228 : 256, creator, true);
      const out = new Int32Array(1);
      try {
        table.backend.kill({ ...snap, bytes: rec, count: 1 }, Int32Array.of(0), out);
        if (out[0] === 1) add({ name: 'kill-unknown-id', status: 'pass', detail: `an id no kernel handed out answers "not found" (${probe.paths.killById})` });
        else if (out[0] === 0) add({ name: 'kill-unknown-id', status: 'fail', detail: 'a kill of an id no kernel handed out reported a state killed' });
        else add({ name: 'kill-unknown-id', status: 'fail', detail: `a kill of an unknown id failed: errno ${-out[0]}` });
      } catch (e) {
        add({ name: 'kill-unknown-id', status: 'fail', detail: errText(e) });
      }
    }

    // ---- rule labels and nat ---------------------------------------------------------------------------
    try {
      const labels = table.ruleLabels();
      add({ name: 'rule-labels', status: 'pass', detail: `${labels.size} main-ruleset rule(s) carry labels` });
    } catch (e) {
      add({ name: 'rule-labels', status: 'warn', detail: `labels cannot be read (--label unavailable): ${errText(e)}` });
    }
    add({ name: 'nat-kill', status: 'pass', detail: probe.natKill ? 'kill filters may match the stack key (psk_nat)' :
      'no psk_nat: kill filters with nat are refused' });
  } finally {
    await table.close();
  }
  return finish(probe, checks, [dev, nl]);
}

function finish(probe: DoctorProbe, checks: DoctorCheck[], handles: Array<{ close(): void } | undefined>): DoctorReport {
  for (const h of handles) h?.close();
  const reasons = checks.filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.detail}`);
  return { ok: reasons.length === 0, probe, checks, reasons };
}
