/**
 * Selection while the state table is still arriving: each chunk of a netlink GETSTATES stream goes
 * to the worker pool as soon as it is parsed, so the first worker starts before the last state
 * arrives. Pairing needs every state, so it runs once on the whole table after the stream ends.
 */
import type { PfNetlinkBackend } from '../backends/pf-netlink.js';
import { DEFAULT_CHUNK_RECORDS } from '../backends/pf-netlink.js';
import type { PfNetlinkReadFilter } from '../native/types-netlink.js';
import { badInput, StatekillError } from '../errors.js';
import { planFromSelected } from './plan.js';
import { applyLabelRules, resolveLabels } from './labels.js';
import { judgeRead, verifyFilteredRead } from './preflight.js';
import { hintFilters, partnersInRead } from './read-hint.js';
import { selectStates, type Selected } from './select.js';
import { checkSelectedIds, checkSnapshot, validateSelections } from './validate.js';
import type { Plan, PlanOptions, Selection, Snapshot } from './types.js';

export interface StreamSelectOptions {
  /** Worker threads per chunk (default 0: inline, between chunk reads). */
  workers?: number;
  /** Records per chunk (default 65536; selectStates splits each chunk into >= 16k ranges). */
  chunkRecords?: number;
  filter?: PfNetlinkReadFilter;
  /** As PlanOptions.force: accept /0 prefixes, host bits and unscoped link-local gateways. */
  force?: boolean;
  signal?: AbortSignal;
}

export interface StreamSelectResult {
  snapshot: Snapshot;
  selected: Selected;
  chunks: number;
  /** From the request to the first parsed chunk, i.e. when the first selection was handed out. */
  firstChunkMs: number;
  /** From the request to NLMSG_DONE. */
  readMs: number;
  /** From the request until every chunk's selection was back. */
  totalMs: number;
  /** The validated copies of the selections. */
  selections: Selection[];
}

/** Streams the table and selects chunk by chunk; indices in the result refer to the whole snapshot. */
export async function streamSelect(backend: PfNetlinkBackend, selections: Selection[],
  opts: StreamSelectOptions = {}): Promise<StreamSelectResult> {
  const valid = validateSelections(selections, { backend: 'pf', force: opts.force });
  const specs = valid.compiled;
  applyLabelRules(specs, valid.selections, resolveLabels(valid.selections, () => backend.ruleLabels()));
  // The preflight (preflight.ts): the kernel's counter before and after the stream; a
  // kernel-filtered stream is verified by an unfiltered count of its filter afterwards.
  const filtered = hintFilters(opts.filter);
  const before = backend.status().states;
  // Inline unless asked: a 64k-record chunk selects in about a millisecond in C++, next to tens of
  // milliseconds to parse it, so the pool buys nothing at these sizes (bench/netlink-vs-ioctl.mjs
  // --workers 0 vs 2: 764 vs 772 ms at 1M states), as select.ts's workersFor found for whole tables.
  const workers = opts.workers ?? 0;
  const t0 = performance.now();
  let firstChunkMs = -1;
  let whole: Snapshot | undefined;
  const pending: Array<Promise<Selected>> = [];
  try {
    for await (const c of backend.readChunks(opts.chunkRecords ?? DEFAULT_CHUNK_RECORDS, { filter: opts.filter })) {
      opts.signal?.throwIfAborted();
      if (firstChunkMs < 0) firstChunkMs = performance.now() - t0;
      checkSnapshot(valid, c.snapshot);
      if (c.snapshot.count > 0) {
        const offset = c.offset;
        // Not awaited here: the next chunk is read while workers select this one.
        const p = selectStates(c.snapshot, specs, workers, opts.signal).then((s) => ({
          indices: s.indices.map((i) => i + offset),
          masks: s.masks,
        }));
        p.catch(() => {}); // observed below by Promise.all; a rejection must not count as unhandled meanwhile
        pending.push(p);
      }
      if (c.whole) whole = c.whole;
    }
  } catch (e) {
    await Promise.allSettled(pending); // no selection left running or rejecting unobserved
    throw e;
  }
  const readMs = performance.now() - t0;
  if (!whole) throw new StatekillError('netlink state stream ended without the whole table', 5, 'EIO');
  try {
    if (filtered) await verifyFilteredRead(backend, opts.filter!, whole.count);
    else await judgeRead(() => backend.status(), before, backend.status(), whole.count, backend.describe().target);
  } catch (e) {
    await Promise.allSettled(pending);
    throw e;
  }
  const parts = await Promise.all(pending);
  const n = parts.reduce((a, p) => a + p.indices.length, 0);
  const indices = new Int32Array(n);
  const masks = new Uint32Array(n);
  let o = 0;
  for (const p of parts) { // chunks in stream order: indices stay ascending
    indices.set(p.indices, o);
    masks.set(p.masks, o);
    o += p.indices.length;
  }
  checkSelectedIds(valid, whole, { indices, masks });
  return {
    snapshot: whole,
    selected: { indices, masks },
    chunks: pending.length,
    firstChunkMs,
    readMs,
    totalMs: performance.now() - t0,
    selections: valid.selections,
  };
}

/** streamSelect, then pair and plan on the whole table: the same plan buildPlan makes from read(). */
export async function streamPlan(backend: PfNetlinkBackend, selections: Selection[],
  opts: StreamSelectOptions & PlanOptions = {}): Promise<{ plan: Plan; snapshot: Snapshot; stream: StreamSelectResult }> {
  // Pairing needs every partner in the read. Partners sit on the other interface, so an interface
  // filter always loses them; any other filter must provably hold them (read-hint.ts).
  const pairs = opts.pair ?? true;
  const lostPartners = () => badInput('streamPlan: the read filter can leave out partners of the selected states: ' +
    'plan without a filter (or with pair: false)');
  if (pairs && opts.filter?.ifname) throw lostPartners();
  const stream = await streamSelect(backend, selections, opts);
  if (pairs && !partnersInRead(stream.snapshot, stream.selected.indices, opts.filter ?? {}, opts)) throw lostPartners();
  const phasesMs: Record<string, number> = { read: stream.readMs, firstChunk: stream.firstChunkMs, select: stream.totalMs };
  const plan = planFromSelected(stream.snapshot, stream.selected, stream.selections, opts, phasesMs);
  return { plan, snapshot: stream.snapshot, stream };
}
