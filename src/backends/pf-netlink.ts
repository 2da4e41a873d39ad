/**
 * pf over netlink (FreeBSD 14.x/15): one class over the native PfNetlink, whether it speaks to the
 * kernel's "pfctl" generic netlink family or to a simulated kernel's responder (describe() says
 * which). GETSTATES is a stream: records arrive chunk by chunk into one growing SharedArrayBuffer,
 * so selection can start on the first chunk while the kernel is still sending the rest.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { StatekillError } from '../errors.js';
import { native } from '../native/index.js';
import type { PfNetlinkDescription, PfNetlinkHandle, PfNetlinkReadFilter, PfNetlinkSimOptions } from '../native/types-netlink.js';
import type { PfDeviceHandle, PfKillFilterArg, PfStatus } from '../native/types-pf.js';
import type { SimKernelHandle } from '../native/types-sim.js';
import type { Backend, BackendDescription, ReadFilterLike, Snapshot } from '../engine/types.js';
import { labelMap } from '../engine/labels.js';
import { hintFilters, kept } from '../engine/read-hint.js';
import { familyHonoursNat, refuseNat } from './pf-nat.js';

const RECORD = 384;
export const DEFAULT_CHUNK_RECORDS = 65536;
// Address space reserved for the growing table (pages are committed only as records arrive).
const MAX_TABLE_RECORDS = [50_000_000, 8_000_000, 1_000_000];

/** One piece of the stream: `snapshot` holds records [offset, offset + snapshot.count) of the table. */
export interface StreamChunk {
  snapshot: Snapshot;
  offset: number;
  /** On the last chunk (possibly empty): the whole table, when chunks were kept (the default). */
  whole?: Snapshot;
}

export interface ReadChunksOptions {
  /** Kernel-side GETSTATES filters. */
  filter?: PfNetlinkReadFilter;
  /**
   * true (default): every chunk is a view into one growing table buffer, and the last chunk carries
   * the whole table (what pairing needs). false: a ring of `ring` chunk buffers is reused, so memory
   * stays bounded by the ring; a chunk is overwritten `ring` chunks later.
   */
  keep?: boolean;
  ring?: number;
}

function snapshotOf(bytes: Uint8Array, count: number, kernelFiltered = false): Snapshot {
  return { bytes, count, layout: 'pf-export', hasRouteInfo: true, ...(kernelFiltered ? { kernelFiltered } : {}) };
}

// ES2024's growable SharedArrayBuffer (Node 20+), typed here because the project's lib predates it.
interface GrowableSab extends SharedArrayBuffer {
  readonly maxByteLength: number;
  grow(byteLength: number): void;
}
const GrowableSabCtor = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => GrowableSab;

/** A SharedArrayBuffer that can grow in place, or undefined when none can be reserved. */
function growableBuffer(initial: number): GrowableSab | undefined {
  for (const max of MAX_TABLE_RECORDS) {
    try {
      return new GrowableSabCtor(initial, { maxByteLength: max * RECORD });
    } catch {
      // a smaller reservation may still fit this address space
    }
  }
  return undefined;
}

export class PfNetlinkBackend implements Backend {
  private device?: PfDeviceHandle;
  // The family's operation list is fixed for the kernel's lifetime: read it once.
  private readonly desc: PfNetlinkDescription;

  private constructor(
    private readonly nl: PfNetlinkHandle,
    private readonly sim?: SimKernelHandle,
    private readonly devicePath = '/dev/pf',
  ) {
    this.desc = nl.describe();
  }

  /** The real kernel's pfctl family (FreeBSD 14+). ENOENT without the family, ENOTSUP off FreeBSD. */
  static open(devicePath = '/dev/pf'): PfNetlinkBackend {
    return new PfNetlinkBackend(new native.PfNetlink(), undefined, devicePath);
  }

  /** A simulated kernel, chosen explicitly. `ops` limits what its family lists (e.g. [1, 2, 3, 4] = 14.0); `corruptState` is a test fault. */
  static onSim(sim: SimKernelHandle, opts: PfNetlinkSimOptions = {}): PfNetlinkBackend {
    return new PfNetlinkBackend(new native.PfNetlink(sim, opts), sim);
  }

  get simKernel(): SimKernelHandle | undefined {
    return this.sim;
  }

  private get nlKills(): boolean {
    return this.desc.paths.killById !== 'none';
  }

  // Kernels whose family lists no KILLSTATES (14.0) still take kills over the ioctls.
  private fallbackDevice(): PfDeviceHandle {
    this.device ??= this.sim ? new native.PfDevice(this.sim) : new native.PfDevice(this.devicePath);
    return this.device;
  }

  describe(): BackendDescription {
    const d = this.desc;
    const viaIoctl = (what: 'killById' | 'kill' | 'status'): string => {
      try {
        return this.fallbackDevice().describe()[what];
      } catch {
        return 'none';
      }
    };
    return {
      backend: this.sim ? 'sim' : 'pf',
      target: this.sim ? this.sim.describe().name : d.target,
      transport: 'netlink',
      paths: {
        read: d.paths.read === 'none' ? 'none' : 'netlink GETSTATES',
        killById: d.paths.killById !== 'none' ? 'netlink KILLSTATES' : viaIoctl('killById'),
        killByFilter: d.paths.killByFilter !== 'none' ? 'netlink KILLSTATES' : viaIoctl('kill'),
        flush: d.paths.flush !== 'none' ? 'netlink CLRSTATES' : viaIoctl('kill'),
        status: d.paths.status !== 'none' ? 'netlink GET_STATUS' : viaIoctl('status'),
      },
      netlink: { familyId: d.familyId, familyVersion: d.familyVersion, ops: d.ops },
      recordSize: RECORD,
      stateVersion: d.stateVersion,
      hasRouteInfo: true,
    };
  }

  /** Every state, collected from the stream into one SharedArrayBuffer of 384-byte records. */
  async read(filter?: PfNetlinkReadFilter): Promise<Snapshot> {
    let whole: Snapshot | undefined;
    for await (const c of this.readChunks(DEFAULT_CHUNK_RECORDS, { filter })) whole = c.whole ?? whole;
    if (!whole) throw new StatekillError('netlink state stream ended without its last chunk', 5, 'EIO');
    return whole;
  }

  /**
   * The GETSTATES stream, `chunkRecords` records at a time, yielded as soon as each chunk is parsed
   * (the event loop turns between chunks, so workers given earlier chunks run meanwhile). The last
   * chunk may be empty and says so by carrying `whole` (keep mode) or by being the last yielded.
   */
  async *readChunks(chunkRecords = DEFAULT_CHUNK_RECORDS, opts: ReadChunksOptions = {}): AsyncGenerator<StreamChunk> {
    if (!Number.isInteger(chunkRecords) || chunkRecords < 1) throw new StatekillError('readChunks: chunkRecords must be a positive integer', 22, 'E_BAD_INPUT');
    const keep = opts.keep ?? true;
    const filtered = hintFilters(opts.filter);
    this.nl.startRead(opts.filter);
    if (!keep) {
      const ring = Array.from({ length: Math.max(1, opts.ring ?? 2) }, () => new Uint8Array(new SharedArrayBuffer(chunkRecords * RECORD)));
      let offset = 0;
      for (let k = 0; ; k++) {
        const view = ring[k % ring.length];
        const r = this.nl.readChunk(view);
        yield { snapshot: snapshotOf(view.subarray(0, r.records * RECORD), r.records, filtered), offset };
        offset += r.records;
        if (r.done) return;
        await yieldToLoop();
      }
    }
    const sab = growableBuffer(chunkRecords * RECORD);
    const pieces: Uint8Array[] = []; // only without a growable buffer: joined at the end
    let count = 0;
    for (;;) {
      let view: Uint8Array;
      if (sab) {
        const need = (count + chunkRecords) * RECORD;
        if (sab.byteLength < need) {
          if (need > sab.maxByteLength) throw new StatekillError(`state table larger than ${sab.maxByteLength / RECORD} records`, 12, 'ENOMEM');
          sab.grow(need);
        }
        view = new Uint8Array(sab, count * RECORD, chunkRecords * RECORD);
      } else {
        view = new Uint8Array(new SharedArrayBuffer(chunkRecords * RECORD));
      }
      const r = this.nl.readChunk(view);
      const chunk = view.subarray(0, r.records * RECORD);
      if (!sab) pieces.push(chunk);
      const offset = count;
      count += r.records;
      if (!r.done) {
        yield { snapshot: snapshotOf(chunk, r.records, filtered), offset };
        await yieldToLoop();
        continue;
      }
      let all: Uint8Array;
      if (sab) {
        all = new Uint8Array(sab, 0, count * RECORD);
      } else {
        all = new Uint8Array(new SharedArrayBuffer(count * RECORD));
        let o = 0;
        for (const p of pieces) {
          all.set(p, o);
          o += p.length;
        }
      }
      yield { snapshot: snapshotOf(chunk, r.records, filtered), offset, whole: snapshotOf(all, count, filtered) };
      return;
    }
  }

  /**
   * An unfiltered GETSTATES stream through a small ring (nothing kept): the states, and those the
   * kernel's `filter` keeps. The preflight compares a kernel-filtered read with it (preflight.ts).
   */
  async countStates(filter: ReadFilterLike): Promise<{ total: number; matching: number }> {
    let total = 0, matching = 0;
    for await (const c of this.readChunks(DEFAULT_CHUNK_RECORDS, { keep: false, ring: 1 })) {
      total += c.snapshot.count;
      for (let i = 0; i < c.snapshot.count; i++) if (kept(c.snapshot.bytes, i, filter)) matching++;
    }
    return { total, matching };
  }

  kill(snapshot: Snapshot, indices: Int32Array, out: Int32Array): void {
    if (snapshot.layout !== 'pf-export') throw new StatekillError('netlink kills need pf-export records', 22, 'E_BAD_INPUT');
    const n = indices.length;
    const ids = new BigUint64Array(n);
    const creators = new Uint32Array(n);
    native.pfGatherIds(snapshot.bytes, RECORD, indices, ids, creators);
    this.killIds(ids, creators, out);
  }

  /** By the (id, creatorid) a plan gathered from the records. */
  killIds(ids: BigUint64Array, creatorids: Uint32Array, out: Int32Array): void {
    // Records hold the raw in-kernel creatorid (the decoder undid the dump's htonl), which is what
    // KILLSTATES takes.
    if (this.nlKills) this.nl.killByIds(ids, creatorids, out);
    else this.fallbackDevice().killByIds(ids, creatorids, out);
  }

  /** CLRSTATES (pfctl -F states [-i ifname] [-M]). */
  flush(ifname?: string, killMatch = false): number {
    if (this.desc.paths.flush !== 'none') return this.nl.flush(ifname, killMatch);
    return this.fallbackDevice().flush(ifname, killMatch);
  }

  /**
   * The kernel's own filter kill (pfctl -k ...). Refuses a filter that would match everything, and
   * `nat` where the kernel lacks psk_nat (its family lists no KILLSTATES: pf-nat.ts).
   */
  killByFilter(filter: PfKillFilterArg): number {
    if (filter.nat && !this.honoursNat()) refuseNat(this.describe().target);
    if (this.desc.paths.killByFilter !== 'none') return this.nl.killByFilter(filter);
    return this.fallbackDevice().killByFilter(filter);
  }

  honoursNat(): boolean {
    return familyHonoursNat(this.desc.ops);
  }

  /** The state counter: GET_STATUS where the family lists it (15), else DIOCGETSTATUSNV/DIOCGETSTATUS. */
  status(): PfStatus {
    if (this.desc.paths.status !== 'none') return this.nl.status();
    return this.fallbackDevice().status();
  }

  stateCount(): number {
    return this.status().states;
  }

  /** Labels of the main ruleset's filter rules: GETRULES/GETRULE where listed, else the ioctls. */
  ruleLabels(): Map<number, string[]> {
    return labelMap(this.desc.paths.rules !== 'none' ? this.nl.ruleLabels() : this.fallbackDevice().ruleLabels());
  }

  close(): void {
    this.nl.close();
    this.device?.close();
    this.device = undefined;
  }
}
