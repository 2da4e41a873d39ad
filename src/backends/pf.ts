/**
 * pf backend: one class over the native PfDevice, whether it speaks to /dev/pf or to a simulated
 * kernel (describe() says which). Reads every state into a SharedArrayBuffer the C++ side fills
 * in place, growing and retrying (bounded) when the table grew between size probe and fetch.
 * A buffer given back with release() is reused by the next read (no fresh pages to fault in);
 * a snapshot whose buffer a later read reused is stale, and kill() refuses it.
 */
import { StatekillError } from '../errors.js';
import { native } from '../native/index.js';
import type { PfDeviceHandle, PfKillFilterArg, PfStatus } from '../native/types-pf.js';
import type { SimKernelHandle } from '../native/types-sim.js';
import type { Backend, BackendDescription, ReadHint, Snapshot } from '../engine/types.js';
import { maxReadBytes, readCapacity } from './pf-read-size.js';
import { probeNatSupport, refuseNat } from './pf-nat.js';
import { labelMap } from '../engine/labels.js';

const MAX_READ_ATTEMPTS = 5;

export class PfBackend implements Backend {
  private natSupport?: boolean;
  /** A released read buffer, for the next read. */
  private spare?: SharedArrayBuffer;
  /** Reads into each buffer so far, and which read each snapshot came from (stale detection). */
  private readonly generation = new WeakMap<SharedArrayBuffer, number>();
  private readonly readOf = new WeakMap<Snapshot, number>();
  /** Keep released read buffers for the next read (default true; false gives the memory back). */
  reuseReadBuffer = true;

  private constructor(
    private readonly dev: PfDeviceHandle,
    private readonly sim?: SimKernelHandle,
  ) {}

  /** The real kernel. A missing device is an error; it never falls back to the simulator. */
  static open(path = '/dev/pf'): PfBackend {
    return new PfBackend(new native.PfDevice(path));
  }

  /** A simulated kernel, chosen explicitly. */
  static onSim(sim: SimKernelHandle): PfBackend {
    return new PfBackend(new native.PfDevice(sim), sim);
  }

  get simKernel(): SimKernelHandle | undefined {
    return this.sim;
  }

  describe(): BackendDescription {
    const d = this.dev.describe();
    return {
      backend: this.sim ? 'sim' : 'pf',
      target: this.sim ? this.sim.describe().name : d.target,
      paths: {
        read: d.read, killById: d.killById, killByFilter: d.kill,
        flush: d.kill === 'DIOCKILLSTATESNV' ? 'DIOCCLRSTATESNV' : d.kill === 'DIOCKILLSTATES' ? 'DIOCCLRSTATES' : 'none',
        status: d.status,
      },
      recordSize: d.recordSize,
      stateVersion: d.stateVersion,
      hasRouteInfo: d.hasRouteInfo,
    };
  }

  /**
   * Every state. `hint.compact`: the selections need nothing only the 384-byte export record has,
   * so the 242-byte DIOCGETSTATES read is used where the kernel has both (37% less to copy).
   */
  async read(hint?: ReadHint): Promise<Snapshot> {
    const d = this.dev.describe();
    const compact = !!hint?.compact && d.compactRead;
    const elem = compact ? 242 : d.recordSize;
    let need = this.dev.probeBytes(compact);
    for (let attempt = 1; attempt <= MAX_READ_ATTEMPTS; attempt++) {
      const cap = readCapacity(need, elem);
      const bytes = this.buffer(cap);
      const r = this.dev.read(bytes, compact);
      if (!r.truncated) {
        const sab = bytes.buffer as SharedArrayBuffer;
        const g = (this.generation.get(sab) ?? 0) + 1;
        this.generation.set(sab, g);
        const snap: Snapshot = {
          bytes: bytes.subarray(0, r.bytes),
          count: r.bytes / elem,
          layout: elem === 384 ? 'pf-export' : 'pf-1301',
          hasRouteInfo: r.hasRouteInfo,
        };
        this.readOf.set(snap, g);
        return snap;
      }
      if (cap === maxReadBytes(elem))
        throw new StatekillError(`the state table (${Math.floor(r.needed / elem)} states) is larger than one pf state read can ` +
          `return (2 GiB of ${elem}-byte records); nothing was killed`, 7, 'E2BIG');
      need = Math.max(r.needed, cap);
    }
    throw new StatekillError(`the state table kept growing faster than it could be read (${MAX_READ_ATTEMPTS} attempts)`, 11, 'EAGAIN');
  }

  /** A read buffer: the released one when it is large enough, else a fresh one. */
  private buffer(cap: number): Uint8Array {
    const s = this.spare;
    if (s && s.byteLength >= cap) {
      this.spare = undefined;
      return new Uint8Array(s); // the device clamps the length to what one read can return
    }
    return new Uint8Array(new SharedArrayBuffer(cap));
  }

  /**
   * Gives `snapshot`'s buffer back: the next read overwrites it, and the snapshot is then stale.
   * Callers release only what nothing will read again (StateTable.execute, once the plan ran).
   */
  release(snapshot: Snapshot): void {
    const sab = snapshot.bytes.buffer;
    if (!this.reuseReadBuffer || !(sab instanceof SharedArrayBuffer) || this.isStale(snapshot)) return;
    if (!this.spare || sab.byteLength >= this.spare.byteLength) this.spare = sab;
  }

  /** Drops the kept read buffer (its memory goes back once nothing else holds it). */
  dropReadBuffer(): void {
    this.spare = undefined;
  }

  /** True when a later read reused this snapshot's buffer: its records are gone. */
  isStale(snapshot: Snapshot): boolean {
    const g = this.readOf.get(snapshot);
    return g !== undefined && g !== this.generation.get(snapshot.bytes.buffer as SharedArrayBuffer);
  }

  kill(snapshot: Snapshot, indices: Int32Array, out: Int32Array): void {
    if (this.isStale(snapshot))
      throw new StatekillError('this snapshot\'s read buffer was reused by a later read; kill by the ids in its plan instead', 116, 'E_STALE_SNAPSHOT');
    const n = indices.length;
    const ids = new BigUint64Array(n);
    const creators = new Uint32Array(n);
    native.pfGatherIds(snapshot.bytes, snapshot.layout === 'pf-1301' ? 242 : 384, indices, ids, creators);
    this.dev.killByIds(ids, creators, out);
  }

  /** By the (id, creatorid) a plan gathered: raw bytes as exported, passed back unchanged. */
  killIds(ids: BigUint64Array, creatorids: Uint32Array, out: Int32Array): void {
    this.dev.killByIds(ids, creatorids, out);
  }

  flush(ifname?: string, killMatch = false): number {
    return this.dev.flush(ifname, killMatch);
  }

  /**
   * The kernel's own filter kill (pfctl -k ...). Refuses a filter that would match everything, and
   * `nat` where the kernel cannot be shown to honour it (pf-nat.ts).
   */
  killByFilter(filter: PfKillFilterArg): number {
    if (filter.nat && !this.honoursNat()) refuseNat(this.describe().target);
    return this.dev.killByFilter(filter);
  }

  /** Whether this kernel has psk_nat (its pfctl netlink family lists KILLSTATES). */
  honoursNat(): boolean {
    const sim = this.sim;
    this.natSupport ??= probeNatSupport(() => (sim ? new native.PfNetlink(sim) : new native.PfNetlink()));
    return this.natSupport;
  }

  stateCount(): number {
    return this.dev.stateCount();
  }

  /** The kernel's state counter and host id (DIOCGETSTATUSNV / DIOCGETSTATUS). */
  status(): PfStatus {
    return this.dev.status();
  }

  /** Labels of the main ruleset's filter rules, by rule number (rules without labels omitted). */
  ruleLabels(): Map<number, string[]> {
    return labelMap(this.dev.ruleLabels());
  }

  close(): void {
    this.dev.close();
  }
}

