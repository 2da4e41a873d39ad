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
 *     3  1   flags        1 id, 2 mark, 4 zone, 8 timeout, 16 status present
 *     4  2   origSport    ICMP: echo id
 *     6  2   origDport    ICMP: type << 8 | code
 *     8  2   replySport
 *    10  2   replyDport
 *    12  2   zone         CTA_ZONE (0 = default)
 *    14  1   replyProto
 *    15  1   reserved
 *    16  4   mark
 *    20  4   status       IPS_* bits
 *    24  4   timeout      seconds left
 *    28  4   id           CTA_ID (echoed on delete: a new entry reusing the tuple is not hit, unless
 *                         the kernel put it in the deleted entry's memory: the id hashes address+tuple)
 *    32 16   origSrc
 *    48 16   origDst
 *    64 16   replySrc
 *    80 16   replyDst     the masquerade address of the WAN for NATed flows
 *    96 32   reserved, zero
 *
 * Kill paths: `kill()` deletes by original tuple (+zone, +id), many DELETE messages per sendmsg,
 * per-entry results from the ACKs. `killByKernelFilter()` sends one tuple-less DELETE the kernel
 * filters itself (mark/mask on >= 4.0, reply destination via CTA_FILTER on >= 6.12); a tuple-less
 * DELETE the kernel does not filter is a full flush, so the addon refuses it (E_UNSAFE_FILTER).
 */
import { release } from 'node:os';
import { StatekillError, badInput } from '../errors.js';
import { compileCidr } from '../engine/compile.js';
import { parseCidr } from '../engine/addr.js';
import type { Backend, BackendDescription, Cidr, Snapshot } from '../engine/types.js';

/** Same shape as the engine's KillCounts (src/engine/types.ts). */
export interface KillCounts {
  killed: number;
  alreadyGone: number;
  failed: number;
}
import { native } from '../native/index.js';
import { CT_STRIDE } from './conntrack-record.js';

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
  /** Entries gone, from the table's count before and after (other traffic in between skews it). */
  removed: number;
  ms: number;
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw badInput(`${what} must be an integer 0..0xffffffff`);
  return v >>> 0;
}

export class ConntrackBackend implements Backend {
  private fd: number;
  private readonly opts: ConntrackBackendOptions;
  private readonly kernel: string;
  private readonly markRefusal: string | null;
  private readonly replyDstRefusal: string | null;

  constructor(opts: ConntrackBackendOptions = {}) {
    if (opts.zone !== undefined && (!Number.isInteger(opts.zone) || opts.zone < 0 || opts.zone > 65535))
      throw badInput(`zone ${opts.zone} out of range 0-65535`);
    const m = opts.readFilter?.mark;
    if (m) {
      checkU32(m.value, 'read filter mark');
      checkU32(m.mask, 'read filter mask');
    }
    this.opts = { ...opts };
    this.fd = native.ctOpen(opts.netns);
    this.kernel = native.ctKernelRelease() || release();
    this.markRefusal = native.ctKernelFilterRefusal(this.kernel, 'mark', 0xffffffff);
    this.replyDstRefusal = native.ctKernelFilterRefusal(this.kernel, 'replyDst');
  }

  describe(): BackendDescription {
    const m = this.opts.readFilter?.mark;
    return {
      backend: 'conntrack',
      target: this.opts.netns ? `ctnetlink (netns ${this.opts.netns})` : 'ctnetlink',
      kernel: this.kernel,
      paths: {
        read: m
          ? `IPCTNL_MSG_CT_GET dump, kernel filter mark 0x${m.value.toString(16)}/0x${m.mask.toString(16)}`
          : 'IPCTNL_MSG_CT_GET dump',
        kill: `IPCTNL_MSG_CT_DELETE by tuple+id, ${this.opts.batch ?? 512} per sendmsg`,
        killByMark: this.markRefusal ? `dump+delete (${this.markRefusal})` : 'tuple-less DELETE, CTA_MARK+CTA_MARK_MASK',
        killByReplyDst: this.replyDstRefusal ? `dump+delete (${this.replyDstRefusal})` : 'tuple-less DELETE, CTA_FILTER reply IP_DST',
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
    const fd = this.handle();
    const m = this.opts.readFilter?.mark;
    const filter = {
      af: this.opts.af === 'inet' ? 4 : this.opts.af === 'inet6' ? 6 : 0,
      mark: m?.value,
      mask: m?.mask,
      zone: this.opts.zone,
    } as const;
    // Size from the O(1) count; the table may grow during the dump, so retry with what it reported.
    let cap = Math.ceil(native.ctCount(fd) * 1.1) + 256;
    for (let attempt = 0; ; attempt++) {
      const bytes = new Uint8Array(new SharedArrayBuffer(cap * CT_STRIDE));
      const r = native.ctDump(fd, bytes, filter);
      if (r.total <= cap || attempt >= 4)
        return { bytes: bytes.subarray(0, r.count * CT_STRIDE), count: r.count, layout: 'ct', hasRouteInfo: false };
      cap = Math.ceil(r.total * 1.25) + 256;
    }
  }

  /** Writes per-entry results to `out` (0 killed, 1 already gone, <0 -errno) and returns their tally. */
  kill(snapshot: Snapshot, indices: Int32Array, out: Int32Array): KillCounts {
    if (snapshot.layout !== 'ct') throw badInput(`conntrack backend cannot kill '${snapshot.layout}' records`);
    const counts: KillCounts = { killed: 0, alreadyGone: 0, failed: 0 };
    if (indices.length === 0) return counts;
    native.ctDelete(this.handle(), snapshot.bytes, indices, out, this.opts.batch);
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
   * single address; one request per family). Where this kernel cannot filter a reply destination
   * (< 6.12), falls back to a dump + batched delete. A mark filter the kernel would not honour is
   * refused (E_UNSAFE_FILTER), never sent.
   */
  killByKernelFilter(f: KernelFilter): KernelFilterResult {
    const fd = this.handle();
    const t0 = performance.now();
    const before = native.ctCount(fd);
    let path: KernelFilterResult['path'];
    if ('mark' in f) {
      if (f.mark === undefined || f.mask === undefined)
        throw new StatekillError('a kernel mark filter needs both mark and mask', 22, 'E_UNSAFE_FILTER');
      const mark = checkU32(f.mark, 'mark'), mask = checkU32(f.mask, 'mask');
      if (this.opts.zone !== undefined || this.opts.af !== undefined || this.markRefusal) {
        // The kernel's mark flush ignores zone and family scoping; keep the backend's scope exact.
        // An unsafe kernel is refused by the addon: reach it so the caller sees E_UNSAFE_FILTER.
        if (this.markRefusal) native.ctFlushMark(fd, mark, mask);
        this.killBySelection(fd, { mark: { value: mark, mask }, ...this.scopeSpec() });
        path = 'dump+delete';
      } else {
        native.ctFlushMark(fd, mark, mask);
        path = 'kernel-mark';
      }
    } else if ('replyDst' in f) {
      const cidr = typeof f.replyDst === 'string' ? parseCidr(f.replyDst, 'reply destination') : f.replyDst;
      const full = cidr.af === 'inet' ? 32 : 128;
      const c = compileCidr(cidr, 'reply destination');
      const scopeAf = this.scope().af;
      if (scopeAf !== undefined && scopeAf !== c.af)
        return { path: 'dump+delete', removed: 0, ms: performance.now() - t0 }; // outside this backend's family
      if (cidr.prefix === full && !this.replyDstRefusal && this.opts.zone === undefined) {
        native.ctFlushReplyDst(fd, c.af, c.addr);
        path = 'kernel-reply-dst';
      } else {
        // CTA_FILTER matches one exact address; prefixes and older kernels go through the dump.
        this.killBySelection(fd, { replyDst: c, ...this.scopeSpec(), af: [c.af] });
        path = 'dump+delete';
      }
    } else {
      throw new StatekillError('a kernel filter needs {mark, mask} or {replyDst}', 22, 'E_UNSAFE_FILTER');
    }
    return { path, removed: Math.max(0, before - native.ctCount(fd)), ms: performance.now() - t0 };
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

  private killBySelection(fd: number, spec: Parameters<typeof native.ctSelect>[3][number]): void {
    const bytes = new Uint8Array(new SharedArrayBuffer((Math.ceil(native.ctCount(fd) * 1.1) + 256) * CT_STRIDE));
    const r = native.ctDump(fd, bytes, { af: spec.af?.length === 1 ? spec.af[0] : 0 });
    const n = r.count;
    const idx = new Int32Array(n);
    const mask = new Uint32Array(n);
    const k = native.ctSelect(bytes, 0, n, [spec], idx, mask);
    native.ctDelete(fd, bytes, idx.subarray(0, k), new Int32Array(k), this.opts.batch);
  }

  close(): void {
    if (this.fd >= 0) native.ctClose(this.fd);
    this.fd = -1;
  }
}
