/**
 * pf backend: one class over the native PfDevice, whether it speaks to /dev/pf or to a simulated
 * kernel (describe() says which). Reads every state into a SharedArrayBuffer the C++ side fills
 * in place, growing and retrying (bounded) when the table grew between size probe and fetch.
 */
import { StatekillError } from '../errors.js';
import { native } from '../native/index.js';
import type { PfDeviceHandle, PfKillFilterArg, PfStatus } from '../native/types-pf.js';
import type { SimKernelHandle } from '../native/types-sim.js';
import type { Backend, BackendDescription, Snapshot } from '../engine/types.js';
import { maxReadBytes, readCapacity } from './pf-read-size.js';
import { probeNatSupport, refuseNat } from './pf-nat.js';
import { labelMap } from '../engine/labels.js';

const MAX_READ_ATTEMPTS = 5;

export class PfBackend implements Backend {
  private natSupport?: boolean;

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

  async read(): Promise<Snapshot> {
    const d = this.dev.describe();
    const elem = d.recordSize;
    let need = this.dev.probeBytes();
    for (let attempt = 1; attempt <= MAX_READ_ATTEMPTS; attempt++) {
      const cap = readCapacity(need, elem);
      const bytes = new Uint8Array(new SharedArrayBuffer(cap));
      const r = this.dev.read(bytes);
      if (!r.truncated) {
        return {
          bytes: bytes.subarray(0, r.bytes),
          count: r.bytes / elem,
          layout: elem === 384 ? 'pf-export' : 'pf-1301',
          hasRouteInfo: r.hasRouteInfo,
        };
      }
      if (cap === maxReadBytes(elem))
        throw new StatekillError(`the state table (${Math.floor(r.needed / elem)} states) is larger than one pf state read can ` +
          `return (2 GiB of ${elem}-byte records); nothing was killed`, 7, 'E2BIG');
      need = Math.max(r.needed, cap);
    }
    throw new StatekillError(`the state table kept growing faster than it could be read (${MAX_READ_ATTEMPTS} attempts)`, 11, 'EAGAIN');
  }

  kill(snapshot: Snapshot, indices: Int32Array, out: Int32Array): void {
    const n = indices.length;
    const ids = new BigUint64Array(n);
    const creators = new Uint32Array(n);
    native.pfGatherIds(snapshot.bytes, snapshot.layout === 'pf-1301' ? 242 : 384, indices, ids, creators);
    this.dev.killByIds(ids, creators, out);
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

