/**
 * The one error class statekill throws, from TypeScript and from C++ alike (the addon receives this
 * class at load time and constructs it). `errno` is the kernel's errno where one exists, else 0;
 * `code` is the errno name ("EACCES") or a statekill code for refusals:
 *   E_BAD_INPUT      the caller's input is malformed (address, prefix, file, flag)
 *   E_ABI_MISMATCH   the kernel answered with sizes/versions statekill does not know: nothing is killed
 *   E_UNSAFE_FILTER  a request would match every state (pf all-zero filter, ctnetlink delete with no tuple)
 *   E_NO_PF          no known pf interface answered
 *   E_SHORT_READ     a state read came back implausibly short of the kernel's own state counter:
 *                    refused (nothing killed) rather than reported as "0 selected"
 */
export class StatekillError extends Error {
  readonly errno: number;
  readonly code: string;

  constructor(message: string, errno = 0, code = 'E_BAD_INPUT') {
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
