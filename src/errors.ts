/**
 * The one error class statekill throws, from TypeScript and from C++ alike (the addon receives this
 * class at load time and constructs it). `errno` is the kernel's errno where one exists, else 0;
 * `code` is the errno name ("EACCES") or a statekill code for refusals (StatekillErrorCode).
 */
import { constants } from 'node:os';
import type { ExecuteResult } from './engine/execute.js';

/** errno names the addon reports (native/common/errors.cc ErrnoCode; EUNKNOWN for any other). */
export type ErrnoCode =
  | 'EPERM' | 'ENOENT' | 'ESRCH' | 'EINTR' | 'EIO' | 'ENXIO' | 'E2BIG' | 'EBADF' | 'EAGAIN' | 'ENOMEM'
  | 'EACCES' | 'EFAULT' | 'EBUSY' | 'EEXIST' | 'ENODEV' | 'ENOTDIR' | 'EINVAL' | 'ENFILE' | 'EMFILE' | 'ENOTTY'
  | 'EFBIG' | 'ENOSPC' | 'ERANGE' | 'ENOSYS' | 'EBADMSG' | 'EPROTO' | 'EOPNOTSUPP' | 'EAFNOSUPPORT'
  | 'ENOTSUP' | 'EPROTONOSUPPORT' | 'ENOBUFS' | 'ETIMEDOUT' | 'ECONNREFUSED' | 'EMSGSIZE' | 'ECANCELED' | 'EILSEQ' | 'EUNKNOWN';

export type StatekillErrorCode =
  | ErrnoCode
  /** The caller's input is malformed or inapplicable (address, prefix, selector, file, flag). */
  | 'E_BAD_INPUT'
  /** The kernel answered with sizes/versions statekill does not know: nothing is read or killed. */
  | 'E_ABI_MISMATCH'
  /** A request would match every state (pf all-zero filter, ctnetlink delete with no tuple). */
  | 'E_UNSAFE_FILTER'
  /** No known pf interface answered. */
  | 'E_NO_PF'
  /** A state read came back shorter than the kernel said the table is: refused, nothing killed. */
  | 'E_SHORT_READ'
  /** A plan's snapshot buffer was reused by a later read of the same table: plan again. */
  | 'E_STALE_SNAPSHOT'
  /** The native addon is neither built nor prebuilt for this platform, or does not load. */
  | 'E_NO_ADDON'
  /** The caller's AbortSignal fired; `report` says what was killed before it did. */
  | 'ABORT_ERR';

export class StatekillError extends Error {
  readonly errno: number;
  readonly code: StatekillErrorCode;
  /** ABORT_ERR during a kill: the partial report (what was killed before the abort). Declared, not
   * initialised: every other error would carry `report: undefined` as an own property. */
  declare report?: ExecuteResult;

  constructor(message: string, errno = 0, code: StatekillErrorCode = 'E_BAD_INPUT') {
    super(message);
    this.errno = errno;
    this.code = code;
  }
}
Object.defineProperty(StatekillError.prototype, 'name', { value: 'StatekillError', enumerable: false });

export function badInput(message: string): StatekillError {
  return new StatekillError(message, 22 /* EINVAL */, 'E_BAD_INPUT');
}

export function isStatekillError(e: unknown): e is StatekillError {
  return e instanceof StatekillError;
}

/**
 * The error of an aborted run: a StatekillError with code ABORT_ERR whose `name` is 'AbortError'
 * (so code that checks for aborts the DOM way sees one), `cause` the signal's reason, and the partial
 * report when kills had started.
 */
export function abortError(signal: AbortSignal, what: string, report?: ExecuteResult): StatekillError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
  const done = report ? `: ${report.killed} killed, ${report.notAttempted} of the plan not attempted` : '';
  const e = new StatekillError(`${what} aborted (${reason})${done}`, constants.errno.ECANCELED, 'ABORT_ERR');
  Object.defineProperty(e, 'name', { value: 'AbortError', enumerable: false });
  Object.defineProperty(e, 'cause', { value: signal.reason, enumerable: false });
  if (report) e.report = report;
  return e;
}

/** Refuses an already-aborted signal before any work (read, plan or kill) starts. */
export function refuseIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortError(signal, what);
}

/** Runs `work`; an abort it ends with (a DOM AbortError, piscina's, ours) becomes ABORT_ERR. */
export async function asAbortError<T>(signal: AbortSignal | undefined, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (signal?.aborted && !(e instanceof StatekillError && e.code === 'ABORT_ERR')) throw abortError(signal, what);
    throw e;
  }
}
