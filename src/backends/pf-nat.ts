/**
 * Whether a kernel honours the kill filter's `nat` (match the stack key, pf_kstate_kill.psk_nat).
 * A kernel without psk_nat (12.x, 13.x, 14.0) ignores the key, NV and netlink alike, and matches
 * the wire key: the kill goes wrong silently. The signal: the kernel's pfctl netlink family lists
 * KILLSTATES (9). Every pf_nl.h with KILLSTATES numbers PF_CS_NAT = 12 before PF_CS_KILLED = 13,
 * so psk_nat predates netlink kills, and every pf_nl.c with KILLSTATES parses PF_CS_NAT into
 * psk_nat (sys/netpfil/pf/pf_nl.h, pf_nl.c); pf_nv.c of the same kernels reads the NV "nat" bool
 * (pf_nvstate_kill_to_kstate_kill). 14.0's family lists 1-4 only, 13.x has none.
 */
import { StatekillError } from '../errors.js';
import type { PfNetlinkHandle } from '../native/types-netlink.js';

export const PFNL_CMD_KILLSTATES = 9;

export function familyHonoursNat(ops: readonly number[]): boolean {
  return ops.includes(PFNL_CMD_KILLSTATES);
}

/** Resolves the family once to read its operations; no family (12.x, 13.x, not FreeBSD) = false. */
export function probeNatSupport(open: () => PfNetlinkHandle): boolean {
  let nl: PfNetlinkHandle | undefined;
  try {
    nl = open();
    return familyHonoursNat(nl.describe().ops);
  } catch {
    return false;
  } finally {
    nl?.close();
  }
}

export function refuseNat(target: string): never {
  throw new StatekillError(`${target}: this kernel cannot be shown to honour a kill filter's 'nat' (psk_nat, match the ` +
    "stack key): it would match the wire key instead. Kernels with psk_nat list KILLSTATES in their pfctl netlink " +
    'family (later 14.x, 15); refusing rather than killing the wrong states', 95, 'ENOTSUP');
}
