/**
 * select -> pair -> plan. The plan is the exact kill list: snapshot indices with their reasons
 * and, for pf, each state's (id, creatorid) as the kernel exported them. No per-state objects.
 */
import { native } from '../native/index.js';
import { CT, CT_STRIDE } from '../backends/conntrack-record.js';
import { badInput } from '../errors.js';
import { applyLabelRules } from './labels.js';
import { selectStates, workersFor, type Selected } from './select.js';
import { checkSelectedIds, checkSnapshot, validatePlanOptions, validateSelections, type BackendKind, type ValidSelections } from './validate.js';
import { gatewayFilters, noteKernelRule } from './kill-fast.js';
import type { PairNative } from '../native/types-engine.js';
import type { Plan, PlanOptions, Selection, Snapshot } from './types.js';

const REASON_SELECTED = 0;
const REASON_PAIRED = 1;
const REASON_AMBIGUOUS = 2;

function gatherIds(snap: Snapshot, indices: Int32Array): { ids?: BigUint64Array; creatorids?: Uint32Array } {
  if (snap.layout === 'ct') {
    // conntrack has no creator; its entry id (CTA_ID) stands in, big-endian so it prints as a number.
    const ids = new BigUint64Array(indices.length);
    const dv = new DataView(snap.bytes.buffer, snap.bytes.byteOffset, snap.bytes.byteLength);
    const idv = new DataView(ids.buffer);
    for (let i = 0; i < indices.length; i++) idv.setBigUint64(i * 8, BigInt(dv.getUint32(indices[i] * CT_STRIDE + CT.id, true)), false);
    return { ids, creatorids: new Uint32Array(indices.length) };
  }
  const ids = new BigUint64Array(indices.length);
  const creatorids = new Uint32Array(indices.length);
  native.pfGatherIds(snap.bytes, snap.layout === 'pf-1301' ? 242 : 384, indices, ids, creatorids);
  return { ids, creatorids };
}

/** Plans `selections` (untrusted: validated here) against a snapshot. */
export async function buildPlan(snap: Snapshot, selections: Selection[], opts: PlanOptions = {},
  phasesMs: Record<string, number> = {}, labelRules?: (number[] | undefined)[]): Promise<Plan> {
  validatePlanOptions(opts);
  const backend: BackendKind = snap.layout === 'ct' ? 'conntrack' : 'pf';
  const valid = validateSelections(selections, { backend, force: opts.force, hasRouteInfo: backend === 'pf' ? snap.hasRouteInfo : undefined });
  return planValidated(snap, valid, opts, phasesMs, labelRules);
}

/**
 * buildPlan for selections validateSelections already passed (StateTable.plan validates before
 * reading). `labelRules`: per selection, the main-ruleset rules its labels resolved to
 * (labels.ts resolveLabels, read from the table's kernel); required when a selection has labels.
 */
export async function planValidated(snap: Snapshot, valid: ValidSelections, opts: PlanOptions = {},
  phasesMs: Record<string, number> = {}, labelRules?: (number[] | undefined)[]): Promise<Plan> {
  checkSnapshot(valid, snap);
  if (valid.selections.some((s) => s.labels !== undefined) && !labelRules)
    throw badInput("labels: resolve them against the table's rules first (StateTable.plan does; buildPlan takes them as labelRules)");
  applyLabelRules(valid.compiled, valid.selections, labelRules);
  const t = performance.now();
  const sel = await selectStates(snap, valid.compiled, workersFor(snap.count, opts.workers), opts.signal);
  checkSelectedIds(valid, snap, sel);
  phasesMs.select = performance.now() - t;
  return planFromSelected(snap, sel, valid.selections, opts, phasesMs);
}

/** pair -> plan for a selection already made (buildPlan's second half; streamSelect selects per chunk). */
export function planFromSelected(snap: Snapshot, sel: Selected, selections: Selection[], opts: PlanOptions = {},
  phasesMs: Record<string, number> = {}): Plan {
  let t = performance.now();
  const n = sel.indices.length;
  const killAmbiguous = opts.killAmbiguous ?? false;
  let pr: PairNative | undefined;
  if ((opts.pair ?? true) && snap.layout !== 'ct' && n > 0) {
    // One conntrack entry already holds both directions: pairing applies to pf only. The native
    // pass also dedupes partners and copies every id while the records are in cache.
    // The either-direction probe serves only pf's gateway kill (kill-fast.ts): skipped, with its
    // answer "unknown", when no selection is one that kill could take.
    pr = native.pfPair(snap.bytes, snap.layout === 'pf-1301' ? 242 : 384, snap.count, sel.indices, sel.masks,
      (opts.pairRule ?? 'kernel+stack') === 'kernel+stack', gatewayFilters(selections).mask !== 0);
  }
  const paired = pr?.paired.indices ?? new Int32Array(0);
  const ambiguous = pr?.ambiguous.indices ?? new Int32Array(0);
  phasesMs.pair = performance.now() - t;
  t = performance.now();

  const withAmb = killAmbiguous ? ambiguous.length : 0;
  const total = n + paired.length + withAmb;
  const indices = new Int32Array(total);
  const reasons = new Uint8Array(total);
  const selectionMask = new Uint32Array(total);
  indices.set(sel.indices, 0);
  selectionMask.set(sel.masks, 0);
  indices.set(paired, n);
  reasons.fill(REASON_PAIRED, n, n + paired.length);
  if (killAmbiguous) {
    indices.set(ambiguous, n + paired.length);
    reasons.fill(REASON_AMBIGUOUS, n + paired.length);
  }
  reasons.fill(REASON_SELECTED, 0, n);
  let ids: { ids?: BigUint64Array; creatorids?: Uint32Array };
  let amb: { ids?: BigUint64Array; creatorids?: Uint32Array };
  if (pr) {
    const all = new BigUint64Array(total);
    const creatorids = new Uint32Array(total);
    all.set(pr.selectedIds, 0);
    creatorids.set(pr.selectedCreatorids, 0);
    all.set(pr.paired.ids, n);
    creatorids.set(pr.paired.creatorids, n);
    if (killAmbiguous) {
      all.set(pr.ambiguous.ids, n + paired.length);
      creatorids.set(pr.ambiguous.creatorids, n + paired.length);
    }
    ids = { ids: all, creatorids };
    amb = { ids: pr.ambiguous.ids, creatorids: pr.ambiguous.creatorids };
  } else {
    ids = gatherIds(snap, indices);
    amb = gatherIds(snap, ambiguous);
  }
  phasesMs.plan = performance.now() - t;
  const plan: Plan = {
    layout: snap.layout,
    selections,
    scanned: snap.count,
    indices,
    reasons,
    selectionMask,
    ...ids,
    ambiguous,
    ambiguousIds: amb.ids,
    ambiguousCreatorids: amb.creatorids,
    killAmbiguous,
    counts: { selected: n, paired: paired.length, ambiguous: ambiguous.length },
    phasesMs,
  };
  if (snap.layout !== 'ct') noteKernelRule(plan, opts, pr);
  return plan;
}

export interface PlannedState {
  id: string;
  creatorid: string;
  reason: 'selected' | 'paired' | 'ambiguous';
}

const REASONS = ['selected', 'paired', 'ambiguous'] as const;

export function idHex(v: bigint): string {
  // The raw id bytes in memory order = the id read as a big-endian number (16 hex digits).
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b.toString('hex');
}

/** Every state of a pf plan, rendered for output: killed ones, then ambiguous ones not killed. */
export function* plannedStates(plan: Plan): Generator<PlannedState> {
  if (!plan.ids || !plan.creatorids) return;
  for (let i = 0; i < plan.indices.length; i++)
    yield { id: idHex(plan.ids[i]), creatorid: plan.creatorids[i].toString(16).padStart(8, '0'), reason: REASONS[plan.reasons[i]] };
  if (!plan.killAmbiguous && plan.ambiguousIds && plan.ambiguousCreatorids)
    for (let i = 0; i < plan.ambiguous.length; i++)
      yield { id: idHex(plan.ambiguousIds[i]), creatorid: plan.ambiguousCreatorids[i].toString(16).padStart(8, '0'), reason: 'ambiguous' };
}

/**
 * Refuses a plan whose indices do not name, in `snap`, the very states it was made for: a plan from
 * another table or snapshot would kill whatever sits at those indices there.
 */
export function assertPlanFits(plan: Plan, snap: Snapshot): void {
  const other = () => badInput('execute: this plan was not made from this table\'s snapshot; plan again on this table');
  if (plan.layout !== snap.layout || plan.scanned !== snap.count || !(plan.indices instanceof Int32Array)) throw other();
  for (const i of plan.indices) if (i < 0 || i >= snap.count) throw other();
  if (!plan.ids || !plan.creatorids || plan.ids.length !== plan.indices.length || plan.creatorids.length !== plan.indices.length) throw other();
  const again = gatherIds(snap, plan.indices);
  for (let i = 0; i < plan.indices.length; i++)
    if (again.ids![i] !== plan.ids[i] || again.creatorids![i] !== plan.creatorids[i]) throw other();
}
