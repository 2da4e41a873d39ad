/**
 * Rule labels (`Selection.labels`): states created by a rule of the main ruleset that carries any
 * of the labels, exactly as `pfctl -k label -k NAME` matches them (pf_label_match(): any of the
 * rule's up to five labels, exact string compare). The backend reads the labels of the main
 * ruleset's filter rules (Backend.ruleLabels); states are then selected by rule number. pf's
 * export carries only the rule's number within its own ruleset, so a state created inside an
 * anchor (`anchor` != -1) cannot be tied to a main-ruleset rule and is never selected by label.
 */
import { badInput } from '../errors.js';
import type { CompiledSelection } from './compile.js';
import type { Selection } from './types.js';

/** PF_RULE_LABEL_SIZE is 64 with the terminating NUL. */
export const MAX_LABEL_BYTES = 63;

/** Rule numbers (main ruleset) carrying any of `labels`, ascending. */
export function rulesWithLabels(ruleLabels: Map<number, string[]>, labels: string[]): number[] {
  const want = new Set(labels);
  const out: number[] = [];
  for (const [nr, l] of ruleLabels) if (l.some((x) => want.has(x))) out.push(nr);
  return out.sort((a, b) => a - b);
}

/**
 * Per selection, the rule numbers its `labels` resolve to (undefined where it has none). Reads the
 * rules once, only when some selection names labels.
 */
export function resolveLabels(selections: Selection[], read: (() => Map<number, string[]>) | undefined): (number[] | undefined)[] {
  if (!selections.some((s) => s.labels !== undefined)) return selections.map(() => undefined);
  if (!read) throw badInput('labels: this backend cannot read rule labels (pf only)');
  const rules = read();
  // validate.ts checked the labels (the one validation point).
  return selections.map((s) => (s.labels === undefined ? undefined : rulesWithLabels(rules, s.labels)));
}

/** string[][] (index = rule number) as a map, rules without labels left out. */
export function labelMap(rules: string[][]): Map<number, string[]> {
  const m = new Map<number, string[]>();
  rules.forEach((l, nr) => {
    if (l.length) m.set(nr, l);
  });
  return m;
}

/**
 * Puts resolved label rules into compiled specs. A selection with labels that resolved to no rule
 * gets an empty list: it selects nothing, never everything.
 */
export function applyLabelRules(specs: CompiledSelection[], selections: Selection[], labelRules?: (number[] | undefined)[]): void {
  specs.forEach((c, i) => {
    if (selections[i].labels !== undefined) c.labelRules = labelRules?.[i] ?? [];
  });
}
