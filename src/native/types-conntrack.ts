/** Native surface of the conntrack module (native/conntrack/). `fd` is a ctnetlink socket from ctOpen. */
import type { CompiledSelection } from '../engine/compile.js';

export interface CtDumpFilter {
  /** 4 or 6 (the kernel filters by nfgenmsg family); omitted = both. */
  af?: 0 | 4 | 6;
  /** Kernel-side (mark & mask) == mark; mask defaults to 0xffffffff; bits of mark outside mask: E_BAD_INPUT. */
  mark?: number;
  mask?: number;
  /** Filtered in the addon (the kernel's zone filter never excludes zone 0). */
  zone?: number;
}

export interface ConntrackNative {
  /** Opens a ctnetlink socket in this netns, or in `netns` (a name under /run/netns, or a path). */
  ctOpen(netns?: string): number;
  ctClose(fd: number): void;
  /** Entries in the socket's netns (O(1) stats request). */
  ctCount(fd: number): number;
  /** Dumps up to bytes.byteLength/128 records; `total` > `count` means the view was too small. */
  ctDump(fd: number, bytes: Uint8Array, filter?: CtDumpFilter): { count: number; total: number };
  /**
   * Deletes records by original tuple (+zone, +id), `batch` per sendmsg (default 512), re-reading each
   * batch first: only entries that still carry the id read and still match one of `specs` (omitted:
   * still have the record's mark and reply tuple) are deleted. out: 0 killed, 1 gone (or no longer
   * matching), <0 -errno.
   */
  ctDelete(fd: number, bytes: Uint8Array, indices: Int32Array, out: Int32Array, batch?: number, specs?: CompiledSelection[]): void;
  /** Creates entries from the first `count` records (tests, benchmarks). out: 0 created, 1 existed, <0 -errno. */
  ctInsert(fd: number, bytes: Uint8Array, count: number, out: Int32Array, batch?: number): number;
  /** Tuple-less delete, no filter: the whole table of the socket's netns. */
  ctFlushAll(fd: number): void;
  /** Kernel-filtered delete by (mark & mask) == mark. Throws E_UNSAFE_FILTER unless safe on this kernel. */
  ctFlushMark(fd: number, mark: number, mask: number): void;
  /** Kernel-filtered delete by reply-tuple destination (CTA_FILTER, Linux 6.12+), one family. */
  ctFlushReplyDst(fd: number, af: 4 | 6, addr: Uint8Array): void;
  /** Why a filtered delete of `kind` is unsafe on kernel `release`, or null when it is safe. */
  ctKernelFilterRefusal(release: string, kind: 'mark' | 'replyDst', mask?: number): string | null;
  ctKernelRelease(): string;
  /**
   * Runs the filtered delete of `kind` in a throwaway network namespace on entries it must tell apart;
   * null when the kernel deleted exactly the right ones, else why not. `af` 4/6 for 'replyDst'.
   */
  ctProbeKernelFilter(kind: 'mark' | 'replyDst', af?: 0 | 4 | 6): string | null;
  /**
   * Scans records [from, to); writes matching absolute indices and their selection bitmasks; returns the
   * count. Refuses (E_BAD_INPUT) pf-only criteria, empty specs, and a mark with mask 0 or value bits
   * outside the mask.
   */
  ctSelect(bytes: Uint8Array, from: number, to: number, specs: CompiledSelection[], outIdx: Int32Array, outMask: Uint32Array): number;
}
