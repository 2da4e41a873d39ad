/**
 * Linux netfilter conntrack backend over raw ctnetlink (native/conntrack/).
 *
 * Record layout 'ct', 128 bytes per entry (one conntrack entry holds both directions, so pairing is
 * a no-op). Addresses: 16 bytes, network order, IPv4 in the first 4. Other integers: host order.
 *
 *   off size field
 *     0  1   af           4 or 6
 *     1  1   proto        IP protocol (original tuple)
 *     2  1   tcpState     CTA_PROTOINFO_TCP_STATE, 0xff if none
 *     3  1   flags        1 id, 2 mark, 4 zone, 8 timeout, 16 status present, 32 ports (the kernel sent
 *                         CTA_PROTO_SRC/DST_PORT: TCP, UDP, SCTP, DCCP, UDP-Lite, GRE keys)
 *     4  2   origSport    ICMP: echo id; GRE: source key (PPTP call id)
 *     6  2   origDport    ICMP: type << 8 | code; GRE: destination key
 *     8  2   replySport
 *    10  2   replyDport
 *    12  2   zone         CTA_ZONE (0 = default)
 *    14  1   replyProto
 *    15  1   reserved
 *    16  4   mark
 *    20  4   status       IPS_* bits
 *    24  4   timeout      seconds left
 *    28  4   id           CTA_ID (echoed on delete: a new entry reusing the tuple is not hit, unless
 *                         the kernel put it in the deleted entry's memory: the id hashes address+tuple;
 *                         so each delete is preceded by a re-read of the entry, see kill())
 *    32 16   origSrc
 *    48 16   origDst
 *    64 16   replySrc
 *    80 16   replyDst     the masquerade address of the WAN for NATed flows
 *    96 32   reserved, zero
 *
 * Kill paths: `kill()` re-reads each planned entry and deletes those still selected by original tuple
 * (+zone, +id), many messages per sendmsg, per-entry results from the answers. `killByKernelFilter()`
 * sends one tuple-less DELETE the kernel filters itself (mark/mask on >= 4.0, reply destination via
 * CTA_FILTER on >= 6.12), but only after a probe in a throwaway netns proved that filter exact on
 * this kernel (IPv6 reply destinations fail it: see docs/conntrack.md); otherwise dump + delete. A
 * tuple-less DELETE the kernel does not filter is a full flush, so the addon refuses it (E_UNSAFE_FILTER).
 */
import { release } from 'node:os';
import { StatekillError, badInput } from '../errors.js';
import { compileCidr, compileSelection, type CompiledSelection } from '../engine/compile.js';
import { parseCidr } from '../engine/addr.js';
import { show } from '../engine/show.js';
import type { Backend, BackendDescription, Cidr, KillCounts, Selection, Snapshot } from '../engine/types.js';
import { native } from '../native/index.js';
import { CT_STRIDE } from './conntrack-record.js';
import { checkConntrackMark as checkMark } from './conntrack-mark.js';

export { conntrackMarkRefusal, parseConntrackMark } from './conntrack-mark.js';

export type { KillCounts };

export interface ConntrackBackendOptions {
  /** Only this family ('inet' = IPv4); filtered by the kernel. Default both. */
  af?: 'inet' | 'inet6';
  /** Only entries of this conntrack zone (filtered in the addon: the kernel's zone filter keeps zone 0). */
  zone?: number;
  /** Kernel-side dump filter: only entries with (mark & mask) == value reach userspace. */
  readFilter?: { mark?: { value: number; mask: number } };
  /** Network namespace to work in: a name under /run/netns or a path (default: this process's). */
  netns?: string;
  /** DELETE messages per sendmsg (default 512, 1..8192). */
  batch?: number;
}

export type KernelFilter = { mark: number; mask: number } | { replyDst: string | Cidr };

export interface KernelFilterResult {
  /** The kernel path that ran. */
  path: 'kernel-mark' | 'kernel-reply-dst' | 'dump+delete';
  /** Why the kernel path was not taken, when `path` is 'dump+delete'. */
  reason?: string;
  /** Entries gone, from the table's count before and after (other traffic in between skews it). */
  removed: number;
  /** Kernel paths: `removed`. dump+delete: per entry, from the kernel's answers. */
  killed: number;
  alreadyGone: number;
  /** dump+delete: entries the kernel refused to delete (per-entry errors); kernel paths: 0. */
  failed: number;
  ms: number;
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw badInput(`${what} must be an integer 0..0xffffffff`);
  return v >>> 0;
}

/**
 * Whether a kernel-filtered delete selects exactly on this kernel. A kernel's filter semantics are the
 * same in every netns, so each is proven once per process: first by version (a tuple-less DELETE
 * that old kernels do not filter is a full flush), then by a probe in a throwaway netns.
 */
const probes = new Map<string, string | null>();
function kernelPathRefusal(kernel: string, kind: 'mark' | 'replyDst', af: 0 | 4 | 6): string | null {
  const byVersion = native.ctKernelFilterRefusal(kernel, kind, kind === 'mark' ? 0xffffffff : undefined);
  if (byVersion) return byVersion;
  const key = `${kind}/${af}`;
  if (!probes.has(key)) probes.set(key, native.ctProbeKernelFilter(kind, af));
  return probes.get(key) ?? null;
}
function probeStatus(kind: 'mark' | 'replyDst', af: 0 | 4 | 6): string {
  const key = `${kind}/${af}`;
  if (!probes.has(key)) return 'not probed yet';
  return probes.get(key) ?? 'probe passed';
}

export class ConntrackBackend implements Backend {
  private fd: number;
  private readonly opts: ConntrackBackendOptions;
  private readonly kernel: string;
  private readonly markVersionRefusal: string | null;
  private readonly replyDstVersionRefusal: string | null;

  constructor(opts: ConntrackBackendOptions = {}) {
    // The scope narrows every read and kill: a value it does not know is refused, never "both" or
    // "this netns" ('ipv4' scoped to inet6, and netns '' opened this process's own table).
    if (opts.af !== undefined && opts.af !== 'inet' && opts.af !== 'inet6') throw badInput(`af: expected 'inet' or 'inet6', got ${show(opts.af)}`);
    if (opts.zone !== undefined && (!Number.isInteger(opts.zone) || opts.zone < 0 || opts.zone > 65535))
      throw badInput(`zone ${opts.zone} out of range 0-65535`);
    if (opts.netns !== undefined && (typeof opts.netns !== 'string' || opts.netns === ''))
      throw badInput(`netns: expected a namespace name or path (leave it out for this process's own), got ${show(opts.netns)}`);
    if (opts.batch !== undefined && (!Number.isInteger(opts.batch) || opts.batch < 1 || opts.batch > 8192))
      throw badInput(`batch: expected an integer 1-8192, got ${show(opts.batch)}`);
    const m = opts.readFilter?.mark;
    if (m) checkMark(m, 'read filter');
    this.opts = { ...opts };
    this.fd = native.ctOpen(opts.netns);
    this.kernel = native.ctKernelRelease() || release();
    this.markVersionRefusal = native.ctKernelFilterRefusal(this.kernel, 'mark', 0xffffffff);
    this.replyDstVersionRefusal = native.ctKernelFilterRefusal(this.kernel, 'replyDst');
  }

  describe(): BackendDescription {
    const m = this.opts.readFilter?.mark;
    const proven = (kind: 'mark' | 'replyDst', af: 0 | 4 | 6) => `used where a probe in a throwaway netns proves it (${probeStatus(kind, af)})`;
    return {
      backend: 'conntrack',
      target: this.opts.netns ? `ctnetlink (netns ${this.opts.netns})` : 'ctnetlink',
      kernel: this.kernel,
      paths: {
        read: m
          ? `IPCTNL_MSG_CT_GET dump, kernel filter mark 0x${m.value.toString(16)}/0x${m.mask.toString(16)}`
          : 'IPCTNL_MSG_CT_GET dump',
        kill: `IPCTNL_MSG_CT_GET re-check, then IPCTNL_MSG_CT_DELETE by tuple+id, ${this.opts.batch ?? 512} per sendmsg`,
        killByMark: this.markVersionRefusal
          ? `dump+delete (${this.markVersionRefusal})`
          : `tuple-less DELETE, CTA_MARK+CTA_MARK_MASK, ${proven('mark', 0)}`,
        killByReplyDst: this.replyDstVersionRefusal
          ? `dump+delete (${this.replyDstVersionRefusal})`
          : `tuple-less DELETE, CTA_FILTER reply IP_DST; IPv4 ${proven('replyDst', 4)}; IPv6 ${proven('replyDst', 6)}`,
        flush: 'tuple-less DELETE, no filter',
      },
      filters: { af: this.opts.af ?? 'both', zone: this.opts.zone ?? 'any', mark: m ?? 'none' },
    };
  }

  private handle(): number {
    if (this.fd < 0) throw new StatekillError('conntrack backend is closed', 9, 'EBADF');
    return this.fd;
  }

  /** Entries in the table of this netns (all families and zones). */
  count(): number {
    return native.ctCount(this.handle());
  }

  async read(): Promise<Snapshot> {
    return this.dump(this.opts.readFilter?.mark, this.scope());
  }

  private dump(mark: { value: number; mask: number } | undefined, scope: { zone?: number; af?: 4 | 6 }): Snapshot {
    const fd = this.handle();
    const filter = { af: scope.af ?? 0, mark: mark?.value, mask: mark?.mask, zone: scope.zone } as const;
    // Size from the O(1) count; the table may grow during the dump, so retry with what it reported.
    let cap = Math.ceil(native.ctCount(fd) * 1.1) + 256;
    for (let attempt = 0; ; attempt++) {
      const bytes = new Uint8Array(new SharedArrayBuffer(cap * CT_STRIDE));
      const r = native.ctDump(fd, bytes, filter);
      if (r.total <= cap) return { bytes: bytes.subarray(0, r.count * CT_STRIDE), count: r.count, layout: 'ct', hasRouteInfo: false };
      // A read that would look short is refused, never reported as fewer entries.
      if (attempt >= 4) throw new StatekillError(`conntrack dump: the table kept growing (${r.total} entries, room for ${cap})`, 105, 'E_SHORT_READ');
      cap = Math.ceil(r.total * 1.25) + 256;
    }
  }

  /**
   * Deletes the entries at `indices`, writing per-entry results to `out` (0 killed, 1 already gone,
   * <0 -errno) and returning their tally. Each entry is re-read first and deleted only if it still
   * carries the id read and still matches one of `selections` (the plan's; without them: still has
   * the mark and reply tuple read). An entry that changed counts as already gone: the one the plan
   * listed no longer exists (CTA_ID alone cannot tell a re-created entry, docs/conntrack.md).
   */
  kill(snapshot: Snapshot, indices: Int32Array, out: Int32Array, selections?: Selection[]): KillCounts {
    if (snapshot.layout !== 'ct') throw badInput(`conntrack backend cannot kill '${snapshot.layout}' records`);
    const specs = selections?.length ? selections.map((s, i) => compileSelection(s, i)) : undefined;
    return this.deleteRecords(snapshot.bytes, indices, out, specs);
  }

  private deleteRecords(bytes: Uint8Array, indices: Int32Array, out: Int32Array, specs?: CompiledSelection[]): KillCounts {
    const counts: KillCounts = { killed: 0, alreadyGone: 0, failed: 0 };
    if (indices.length === 0) return counts;
    native.ctDelete(this.handle(), bytes, indices, out, this.opts.batch, specs);
    for (let i = 0; i < indices.length; i++) {
      const r = out[i];
      if (r === 0) counts.killed++;
      else if (r === 1) counts.alreadyGone++;
      else counts.failed++;
    }
    return counts;
  }

  flush(): number {
    const fd = this.handle();
    const before = native.ctCount(fd);
    native.ctFlushAll(fd);
    return Math.max(0, before - native.ctCount(fd));
  }

  /**
   * One tuple-less DELETE that the kernel filters: by mark/mask, or by reply-tuple destination (a
   * single address; one request per family), where a probe has proven that filter exact on this
   * kernel and the backend has no zone/family scope the kernel would ignore. Otherwise dump + select
   * + delete, with per-entry results (`reason` says why). A mark that is not exact is E_BAD_INPUT.
   */
  killByKernelFilter(f: KernelFilter): KernelFilterResult {
    const fd = this.handle();
    const t0 = performance.now();
    const before = native.ctCount(fd);
    const done = (path: KernelFilterResult['path'], counts: KillCounts | null, reason?: string): KernelFilterResult => {
      const removed = Math.max(0, before - native.ctCount(fd));
      return { path, ...(reason ? { reason } : {}), removed, ...(counts ?? { killed: removed, alreadyGone: 0, failed: 0 }), ms: performance.now() - t0 };
    };
    if ('mark' in f) {
      if (f.mark === undefined || f.mask === undefined)
        throw new StatekillError('a kernel mark filter needs both mark and mask', 22, 'E_UNSAFE_FILTER');
      const mark = checkMark({ value: checkU32(f.mark, 'mark'), mask: checkU32(f.mask, 'mask') }, 'kernel filter');
      // An unsafe kernel is refused by the addon: reach it so the caller sees E_UNSAFE_FILTER.
      if (this.markVersionRefusal) native.ctFlushMark(fd, mark.value, mark.mask);
      const why = this.opts.zone !== undefined || this.opts.af !== undefined
        ? "the kernel's mark flush ignores the backend's zone/family scope"
        : kernelPathRefusal(this.kernel, 'mark', 0);
      if (why) return done('dump+delete', this.killBySelection({ mark, ...this.scopeSpec() }), why);
      native.ctFlushMark(fd, mark.value, mark.mask);
      return done('kernel-mark', null);
    }
    if ('replyDst' in f) {
      const cidr = typeof f.replyDst === 'string' ? parseCidr(f.replyDst, 'reply destination') : f.replyDst;
      const c = compileCidr(cidr, 'reply destination');
      const scopeAf = this.scope().af;
      if (scopeAf !== undefined && scopeAf !== c.af)
        return done('dump+delete', { killed: 0, alreadyGone: 0, failed: 0 }, "outside the backend's family");
      const why = cidr.prefix !== (cidr.af === 'inet' ? 32 : 128)
        ? 'CTA_FILTER matches one exact address, not a prefix'
        : this.opts.zone !== undefined
          ? "the kernel's reply-destination flush ignores the backend's zone scope"
          : kernelPathRefusal(this.kernel, 'replyDst', c.af);
      if (why) return done('dump+delete', this.killBySelection({ replyDst: c, ...this.scopeSpec(), af: [c.af] }), why);
      native.ctFlushReplyDst(fd, c.af, c.addr);
      return done('kernel-reply-dst', null);
    }
    throw new StatekillError('a kernel filter needs {mark, mask} or {replyDst}', 22, 'E_UNSAFE_FILTER');
  }

  private scope(): { zone?: number; af?: 4 | 6 } {
    const s: { zone?: number; af?: 4 | 6 } = {};
    if (this.opts.zone !== undefined) s.zone = this.opts.zone;
    if (this.opts.af) s.af = this.opts.af === 'inet' ? 4 : 6;
    return s;
  }

  /** scope() as compiled-selection criteria (lists, as validate.ts compiles them). */
  private scopeSpec(): { zone?: number; af?: (4 | 6)[] } {
    const { zone, af } = this.scope();
    return { ...(zone !== undefined ? { zone } : {}), ...(af !== undefined ? { af: [af] } : {}) };
  }

  /** dump (kernel-narrowed by mark/family where given) -> ctSelect -> re-checked delete, counted. */
  private killBySelection(spec: CompiledSelection): KillCounts {
    const snap = this.dump(spec.mark, { af: spec.af?.length === 1 ? spec.af[0] : undefined, zone: spec.zone });
    const idx = new Int32Array(snap.count);
    const k = native.ctSelect(snap.bytes, 0, snap.count, [spec], idx, new Uint32Array(snap.count));
    return this.deleteRecords(snap.bytes, idx.subarray(0, k), new Int32Array(k), [spec]);
  }

  close(): void {
    if (this.fd >= 0) native.ctClose(this.fd);
    this.fd = -1;
  }
}
