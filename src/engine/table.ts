/**
 * The library's front door: open a state table (pf device, simulated pf kernel, conntrack), plan
 * from selections, execute. Events: 'phase' ({ phase, ms }) and 'progress' ({ done, total }).
 */
import { EventEmitter } from 'node:events';
import { PfBackend } from '../backends/pf.js';
import { PfNetlinkBackend } from '../backends/pf-netlink.js';
import { createSimKernel, type SimSource } from '../backends/sim.js';
import { badInput, StatekillError } from '../errors.js';
import type { SimKernelHandle } from '../native/types-sim.js';
import { executePlan, type ExecuteResult } from './execute.js';
import { killByKernelRule, type KernelRuleKill } from './kill-fast.js';
import { buildPlan } from './plan.js';
import { closeSelectPool, warmSelectPool } from './select.js';
import { readHintFor } from './read-hint.js';
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

export class StateTable extends EventEmitter {
  private last?: Snapshot;

  constructor(readonly backend: Backend) {
    super();
  }

  describe(): BackendDescription {
    return this.backend.describe();
  }

  /** The snapshot the last read (or plan) used: the records a plan's indices point into. */
  get lastSnapshot(): Snapshot | undefined {
    return this.last;
  }

  /** A fresh snapshot of every state (that `hint` allows a kernel-side filter to leave out). */
  async snapshot(hint?: ReadHint): Promise<Snapshot> {
    const t = performance.now();
    this.last = await this.backend.read(hint);
    this.emit('phase', { phase: 'read', ms: performance.now() - t });
    return this.last;
  }

  /** Reads a fresh snapshot and plans against it. Nothing is killed. */
  async plan(selections: Selection[], opts: PlanOptions = {}): Promise<Plan> {
    if (!Array.isArray(selections) || selections.length === 0) throw badInput('plan: at least one selection is needed');
    const t = performance.now();
    const hint = readHintFor(selections);
    if (!opts.fullRecords && compactRecordsSuffice(selections)) hint.compact = true;
    const snap = await this.snapshot(hint);
    const phasesMs: Record<string, number> = { read: performance.now() - t };
    const plan = await buildPlan(snap, selections, opts, phasesMs);
    plansSnapshots.set(plan, snap);
    for (const phase of ['select', 'pair', 'plan']) this.emit('phase', { phase, ms: phasesMs[phase] });
    return plan;
  }

  /** Kills what the plan lists, by (id, creatorid); states gone meanwhile count as already gone. */
  async execute(plan: Plan, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    const snap = plansSnapshots.get(plan);
    if (!snap) throw badInput('execute: this plan was not made by this table');
    // A later plan's read reused this plan's buffer (after this plan was executed once): its
    // records are gone. Kills go by the plan's ids, but a plan that old is not run again.
    if (this.backend.isStale?.(snap))
      throw new StatekillError('execute: a later read reused this plan\'s snapshot buffer; plan again', 116, 'E_STALE_SNAPSHOT');
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
   */
  killByKernelRule(selections: Selection[], opts: { pair?: boolean } = {}): KernelRuleKill {
    const r = killByKernelRule(this.backend, selections, opts.pair ?? true);
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

// Plans stay plain objects; the snapshot they index into is remembered beside them.
const plansSnapshots = new WeakMap<Plan, Snapshot>();

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

function pickPfTransport(transport: 'auto' | 'ioctl' | 'netlink', ioctl: () => PfBackend,
  netlink: () => PfNetlinkBackend): Backend {
  if (transport === 'ioctl') return ioctl();
  if (transport === 'netlink') return netlink();
  const viaIoctl = ioctl();
  if (viaIoctl.describe().paths.read !== 'none') return viaIoctl;
  // No struct read (15 without COMPAT_FREEBSD14): the netlink family, if the kernel has it.
  try {
    const viaNetlink = netlink();
    viaIoctl.close();
    return viaNetlink;
  } catch {
    return viaIoctl; // its read() then says plainly that no state read answers
  }
}
