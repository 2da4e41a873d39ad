/**
 * The conntrack mark selector `(ct mark & mask) == value`, exact or refused. No native code here, so
 * the policy's config parser can use it without loading the addon.
 */
import { badInput } from '../errors.js';

export interface CtMark {
  value: number;
  mask: number;
}

/**
 * Why a mark selector is not exact, or null: mask 0 matches every entry, and value bits outside the
 * mask can never match (masking them away instead would widen the kill). The addon refuses the same
 * on every path (ctSelect, the kernel mark flush, the filtered dump); this is the check for the
 * library's validation point.
 */
export function conntrackMarkRefusal(m: CtMark): string | null {
  for (const [v, what] of [[m.value, 'value'], [m.mask, 'mask']] as const)
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) return `mark ${what} must be an integer 0..0xffffffff`;
  if (m.mask === 0) return 'mark mask 0 matches every entry';
  if ((m.value & ~m.mask) >>> 0 !== 0)
    return `mark value 0x${m.value.toString(16)} has bits outside mask 0x${m.mask.toString(16)}; it can never match`;
  return null;
}

/** Throws E_BAD_INPUT (prefixed with `what`) unless the selector is exact. */
export function checkConntrackMark(m: CtMark, what: string): CtMark {
  const why = conntrackMarkRefusal(m);
  if (why) throw badInput(`${what}: ${why}`);
  return { value: m.value >>> 0, mask: m.mask >>> 0 };
}

const NUM = '(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})';
const MARK_TEXT = new RegExp(`^${NUM}(?:/${NUM})?$`);

/** `VALUE[/MASK]` (decimal or 0x hex; no mask = all 32 bits), or a plain integer; exact or E_BAD_INPUT. */
export function parseConntrackMark(text: string | number, what: string): CtMark {
  if (typeof text === 'number') return checkConntrackMark({ value: text, mask: 0xffffffff }, what);
  const m = MARK_TEXT.exec(text);
  if (!m) throw badInput(`${what}: expected VALUE[/MASK] (decimal or 0x hex), got '${text.slice(0, 64)}'`);
  return checkConntrackMark({ value: Number(m[1]), mask: m[2] === undefined ? 0xffffffff : Number(m[2]) }, what);
}
