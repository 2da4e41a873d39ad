/**
 * How big a buffer one pf state read gets. `ps_len` in struct pfioc_states(_v2) is a C int, so one
 * read returns at most INT_MAX bytes: 5,592,405 export records (384 bytes) or 8,873,899 pfsync
 * records (242). Whole records only, so the cap is the largest multiple of the record size.
 */
export const MAX_READ_BYTES = 0x7fffffff;

/** The largest whole-record buffer one read can use. */
export function maxReadBytes(elem: number): number {
  return Math.floor(MAX_READ_BYTES / elem) * elem;
}

/**
 * The buffer for a table the kernel sized at `needBytes`: room for growth between size probe and
 * fetch (pf-abi.md section 6: 25% plus 64 records), never past what ps_len can express.
 */
export function readCapacity(needBytes: number, elem: number): number {
  return Math.min(Math.ceil((needBytes * 1.25) / elem) * elem + 64 * elem, maxReadBytes(elem));
}
