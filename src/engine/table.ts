/**
 * The library's front door: open a state table (pf device, simulated pf kernel, conntrack), plan
 * from selections, execute. Events (StateTableEvents): 'phase' ({ phase, ms }) and 'progress' ({ done, total }).
 */
import { EventEmitter } from 'node:events';
import { PfBackend } from '../backends/pf.js';
import { PfNetlinkBackend } from '../backends/pf-netlink.js';
import { createSimKernel, type SimSource } from '../backends/sim.js';
import { asAbortError, badInput, refuseIfAborted, StatekillError } from '../errors.js';
import type { SimKernelHandle } from '../native/types-sim.js';
import { executePlan, type ExecuteResult } from './execute.js';
import { assertPlanFits, planValidated } from './plan.js';
import { closeSelectPool, warmSelectPool } from './select.js';
import { hintFilters, partnersInRead, readHintFor } from './read-hint.js';
import { readVerified } from './preflight.js';
import { resolveLabels } from './labels.js';
import { validatePlanOptions, validateSelections, type BackendKind } from './validate.js';
import { killByKernelRule, type KernelRuleKill } from './kill-fast.js';
import { compactRecordsSuffice } from './compact-read.js';
import type { Backend, BackendDescription, ExecuteOptions, Plan, PlanOptions, ReadHint, Selection, Snapshot } from './types.js';
import type { ConntrackBackendOptions } from '../backends/conntrack.js';

export interface OpenOptions {
  /** The real pf device (default '/dev/pf' when nothing else is named). */
  device?: string;
  /** A simulated pf kernel: an existing one, or what to build it from. Always explicit. */
  sim?: SimKernelHandle | SimSource;
  /** Linux conntrack. */
  conntrack?: ConntrackBackendOptions | true;
  /** Or any Backend (tests, other kernels). */
  backend?: Backend;
  /**
   * pf only: 'ioctl', 'netlink', or 'auto' (default): the DIOCGETSTATESV2/DIOCGETSTATES read where
   * the kernel has it (measured about 4x faster than the netlink stream on the simulated kernel),
   * the netlink family where the struct reads are gone (FreeBSD 15 without COMPAT_FREEBSD14).
   */
  transport?: 'auto' | 'ioctl' | 'netlink';
  /** Selection worker threads to start now, so they are ready when the read ends (default: none). */
  workers?: number;
  /**
   * pf (ioctl reads): keep each plan's read buffer for the next plan's read, which then copies into
   * pages already faulted in (default true; a long-lived process keeps one table-sized buffer).
   * false: every read gets a fresh buffer and the memory goes back between plans.
   */
  keepReadBuffer?: boolean;
}

function isSimHandle(x: unknown): x is SimKernelHandle {
  return typeof x === 'object' && x !== null && typeof (x as SimKernelHandle).generate === 'function';
}

/** What a StateTable emits: each phase once when it ends, and progress after each kill batch. */
export interface StateTableEvents {
  phase: [{ phase: 'read' | 'select' | 'pair' | 'plan' | 'kill'; ms: number }];
  progress: [{ done: number; total: number }];
}

export class StateTable extends EventEmitter<StateTableEvents> {
  private last?: Snapshot;
  // Each plan remembers the snapshot its indices point into, per table: a plan from another table
  // (or a copy of a plan) is refused, never executed against this table's records.
  private readonly plans = new WeakMap<Plan, Snapshot>();

  constructor(readonly backend: Backend) {
    super();
  }

  describe(): BackendDescription {
    return this.backend.describe();
  }

  /** Which selections apply here: pf (device or simulated) or conntrack. */
  get kind(): BackendKind {
    return this.backend.describe().backend === 'conntrack' ? 'conntrack' : 'pf';
  }

  /** The snapshot the last read (or plan) used: the records a plan's indices point into. */
  get lastSnapshot(): Snapshot | undefined {
    return this.last;
  }

  /**
   * A fresh snapshot of every state (that `hint` allows a kernel-side filter to leave out). Every
   * read goes through the preflight (preflight.ts): one implausibly short of the kernel's own state
   * counter, or a kernel-filtered one short of an unfiltered count of its filter, is refused with
   * E_SHORT_READ.
   */
  async snapshot(hint?: ReadHint): Promise<Snapshot> {
    const t = performance.now();
    this.last = await readVerified(this.backend, () => this.backend.read(hint), hint);
    this.emit('phase', { phase: 'read', ms: performance.now() - t });
    return this.last;
  }

  /** Labels of the main ruleset's filter rules (pf), by rule number. */
  ruleLabels(): Map<number, string[]> {
    if (!this.backend.ruleLabels) throw badInput('rule labels: this backend has none (pf only)');
    return this.backend.ruleLabels();
  }

  /**
   * Validates the selections (validate.ts: before anything is read), reads a fresh snapshot and
   * plans against it. Nothing is killed.
   */
  async plan(selections: Selection[], opts: PlanOptions = {}): Promise<Plan> {
    validatePlanOptions(opts);
    const valid = validateSelections(selections, { backend: this.kind, force: opts.force });
    refuseIfAborted(opts.signal, 'plan'); // before anything is read
    const labelRules = resolveLabels(valid.selections, this.backend.ruleLabels?.bind(this.backend));
    const t = performance.now();
    const hint = readHintFor(valid.compiled);
    if (!opts.fullRecords && compactRecordsSuffice(valid.selections)) hint.compact = true;
    let snap = await this.snapshot(hint);
    let phasesMs: Record<string, number> = { read: performance.now() - t };
    let plan = await asAbortError(opts.signal, 'plan', () => planValidated(snap, valid, opts, phasesMs, labelRules));
    // A kernel-filtered read stands only where it provably holds every partner (read-hint.ts);
    // otherwise (a NAT/WAN address, a kernel filtering differently) the plan is redone on a full,
    // preflighted read.
    if (hintFilters(hint) && !partnersInRead(snap, plan.indices.subarray(0, plan.counts.selected), hint, opts)) {
      const t2 = performance.now();
      snap = await this.snapshot();
      phasesMs = { read: phasesMs.read + performance.now() - t2 };
      plan = await asAbortError(opts.signal, 'plan', () => planValidated(snap, valid, opts, phasesMs, labelRules));
    }
    this.plans.set(plan, snap);
    for (const phase of ['select', 'pair', 'plan'] as const) this.emit('phase', { phase, ms: phasesMs[phase] });
    return plan;
  }

  /**
   * Kills what the plan lists, by (id, creatorid); states gone meanwhile count as already gone.
   * Only a plan this table made: pf ids are never reused, so a plan older than the last read is
   * still exact there; conntrack reuses entry ids (CTA_ID), so there only the latest plan runs. An
   * abort stops between batches: StatekillError ABORT_ERR whose `report` is what was done.
   */
  async execute(plan: Plan, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    const snap = this.plans.get(plan);
    if (!snap) throw badInput('execute: this plan was not made by this table (plan again on this table)');
    if (snap.layout === 'ct' && snap !== this.last)
      throw badInput('execute: this conntrack plan is older than the table\'s last read; entry ids may have been reused since: plan again');
    // A later plan's read reused this plan's buffer (after this plan was executed once): its
    // records are gone. Kills go by the plan's ids, but a plan that old is not run again.
    if (this.backend.isStale?.(snap))
      throw new StatekillError('execute: a later read reused this plan\'s snapshot buffer; plan again', 116, 'E_STALE_SNAPSHOT');
    assertPlanFits(plan, snap); // the plan's fields were not changed since planning
    try {
      const r = await executePlan(this.backend, snap, plan, {
        ...opts,
        onProgress: (p) => {
          this.emit('progress', p);
          opts.onProgress?.(p);
        },
      });
      this.emit('phase', { phase: 'kill', ms: r.phasesMs.kill });
      return r;
    } finally {
      // Executed (or a dry run): the next plan's read may reuse this buffer (pf), whose pages are
      // already faulted in. A plan that is never executed keeps its buffer to itself.
      this.backend.release?.(snap);
    }
  }

  /** plan + execute in one call. */
  async kill(selections: Selection[], opts: PlanOptions & ExecuteOptions = {}): Promise<{ plan: Plan; report: ExecuteResult }> {
    const plan = await this.plan(selections, opts);
    return { plan, report: await this.execute(plan, opts) };
  }

  /**
   * pf's own gateway kill only (`pfctl -M -k gateway` per gateway): no read, no plan, a count.
   * Partners pf's rule cannot see (port-forwards) and NAT-address states are left; see kill-fast.ts.
   * The selections are validated as plan() validates them (`force` as PlanOptions.force).
   */
  killByKernelRule(selections: Selection[], opts: { pair?: boolean; force?: boolean } = {}): KernelRuleKill {
    validatePlanOptions(opts); // pair and force: booleans, never a truthy string
    const r = killByKernelRule(this.backend, selections, opts.pair ?? true, opts.force ?? false);
    this.emit('phase', { phase: 'kill', ms: r.ms });
    return r;
  }

  /** Every state (pfctl -Fs / conntrack -F). */
  flush(): number {
    return this.backend.flush();
  }

  async close(): Promise<void> {
    this.backend.close();
    await closeSelectPool();
  }
}

export async function openTable(opts: OpenOptions = {}): Promise<StateTable> {
  const table = await openBackend(opts);
  if (opts.keepReadBuffer === false && table.backend instanceof PfBackend) table.backend.reuseReadBuffer = false;
  // Explicit workers start now, overlapping the read; automatic ones start when a table is large.
  if (opts.workers) warmSelectPool(opts.workers);
  return table;
}

async function openBackend(opts: OpenOptions): Promise<StateTable> {
  const chosen = [opts.device !== undefined, opts.sim !== undefined, opts.conntrack !== undefined, opts.backend !== undefined]
    .filter(Boolean).length;
  if (chosen > 1) throw badInput('openTable: name one of device, sim, conntrack or backend');
  if (opts.backend) return new StateTable(opts.backend);
  const transport = opts.transport ?? 'auto';
  if (!['auto', 'ioctl', 'netlink'].includes(transport)) throw badInput(`transport: expected auto, ioctl or netlink, got '${transport}'`);
  if (opts.sim !== undefined) {
    const sim = isSimHandle(opts.sim) ? opts.sim : createSimKernel(opts.sim);
    return new StateTable(pickPfTransport(transport, () => PfBackend.onSim(sim), () => PfNetlinkBackend.onSim(sim)));
  }
  if (opts.conntrack !== undefined) {
    const { ConntrackBackend } = await import('../backends/conntrack.js');
    return new StateTable(new ConntrackBackend(opts.conntrack === true ? {} : opts.conntrack));
  }
  const device = opts.device ?? '/dev/pf';
  return new StateTable(pickPfTransport(transport, () => PfBackend.open(device), () => PfNetlinkBackend.open(device)));
}

/**
 * 'auto': the struct read where the kernel has it (measured about 4x faster than the netlink
 * stream), except on a 15-era kernel: there states can carry facts pf_state_export has no room
 * for (an af-to state's per-key families, a next hop of the other family: PF_STK_AF, PF_ST_RT_AF),
 * which only the netlink dump sends, so its family wins even where COMPAT_FREEBSD14 keeps the
 * struct reads. "15-era" = the family lists GET_STATUS (PFNL_CMD_GET_STATUS = 11), which every
 * kernel with those attributes has (sys/netpfil/pf/pf_nl.h).
 */
export const PFNL_CMD_GET_STATUS = 11;

function pickPfTransport(transport: 'auto' | 'ioctl' | 'netlink', ioctl: () => PfBackend,
  netlink: () => PfNetlinkBackend): Backend {
  if (transport === 'ioctl') return ioctl();
  if (transport === 'netlink') return netlink();
  const viaIoctl = ioctl();
  let viaNetlink: PfNetlinkBackend | undefined;
  try {
    viaNetlink = netlink();
  } catch {
    // no pfctl family (12.x, 13.x, not FreeBSD): the ioctls, whose read() says so if none answers
  }
  const era15 = (viaNetlink?.describe().netlink as { ops?: number[] } | undefined)?.ops?.includes(PFNL_CMD_GET_STATUS);
  if (viaNetlink && (era15 || viaIoctl.describe().paths.read === 'none')) {
    viaIoctl.close();
    return viaNetlink;
  }
  viaNetlink?.close();
  return viaIoctl;
}
