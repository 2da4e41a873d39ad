/**
 * The compiled form of a selection, what the native select kernels read (native/engine/select.*,
 * native/conntrack/select.*): addresses as 16-byte network-order arrays with their masks, families
 * as 4/6, every OR-able criterion as a list. Only validate.ts builds these from user input.
 */
import { badInput } from '../errors.js';
import { parseAddr, prefixMask } from './addr.js';
import type { Cidr } from './types.js';

export interface CompiledCidr {
  af: 4 | 6;
  addr: Uint8Array; // 16 bytes, already masked
  mask: Uint8Array; // 16 bytes
  ifname?: string;
}

/** State ids to select: pf (id as printed, i.e. the raw bytes read big-endian; creator id as listed), ct: CTA_ID. */
export interface CompiledIds {
  id: BigUint64Array;
  creatorid: Uint32Array;
  /** 1 = no creator id given: any creator (validate.ts refuses an id two creators share). */
  anyCreator: Uint8Array;
}

/** Fields AND together; the entries of a list OR. Absent = no restriction. Lists are never empty. */
export interface CompiledSelection {
  gateways?: CompiledCidr[];
  natAddrs?: CompiledCidr[];
  defaultRouted?: true;
  interfaces?: string[];
  rtInterfaces?: string[];
  af?: (4 | 6)[];
  proto?: number[];
  src?: CompiledCidr[];
  dst?: CompiledCidr[];
  srcPort?: number[];
  dstPort?: number[];
  rules?: number[];
  /** pf: main-ruleset rules the selection's labels resolved to (engine/labels.ts); [] = none. */
  labelRules?: number[];
  ids?: CompiledIds;
  mark?: { value: number; mask: number };
  zone?: number;
  replyDst?: CompiledCidr;
}

/**
 * A Cidr already known to be well-formed (validate.ts checked it, or code built it) in compiled
 * form. Host bits are masked off here; whether they were allowed is validate.ts's question.
 */
export function compileCidr(c: Cidr, what: string): CompiledCidr {
  const a = parseAddr(c.addr);
  if (!a || a.af !== c.af) throw badInput(`${what}: not an ${c.af} address`);
  const max = c.af === 'inet' ? 32 : 128;
  if (!Number.isInteger(c.prefix) || c.prefix < 0 || c.prefix > max) throw badInput(`${what}: prefix length out of range 0-${max}`);
  const mask = prefixMask(c.af, c.prefix);
  for (let i = 0; i < 16; i++) a.bytes[i] &= mask[i];
  const out: CompiledCidr = { af: c.af === 'inet' ? 4 : 6, addr: a.bytes, mask };
  if (c.ifname !== undefined) out.ifname = c.ifname;
  return out;
}

// Validation and compilation of user selections live in validate.ts (the one validation point).
export { compileSelection, isEmptySelection } from './validate.js';
