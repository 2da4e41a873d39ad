/**
 * The failover policy on Linux conntrack (`event`/`watch --backend conntrack`). A conntrack entry has
 * no next hop and no NAT source, so the pf selections a decision carries (gateways, natAddrs) cannot
 * select it. Each gateway names its own conntrack selector in the config instead:
 *
 *   gateways:
 *     - name: WAN1
 *       conntrack: { mark: '0x100/0x3f00', replyDst: 100.64.1.2, zone: 0 }
 *
 * `mark`: mwan3-style routing mark under a mask (mwan3 keeps it in the ct mark under mmx_mask);
 * `replyDst`: the WAN's masquerade address (one, or {inet, inet6}); `zone`: only that conntrack zone.
 * A failover kills entries matching the mark OR replying to a replyDst address (as pf's failover
 * kills states routed to the gateway OR leaving with its NAT address). Failback kills are pf-only
 * (they select by next hop and rule number), so a config that can decide one is refused up front.
 */
import { z } from 'zod';
import { badInput } from '../errors.js';
import { parseCidr } from '../engine/addr.js';
import type { Cidr, Report, Selection } from '../engine/types.js';
import { conntrackMarkRefusal, parseConntrackMark, type CtMark } from '../backends/conntrack-mark.js';
import type { GatewayConfig, PolicyConfig } from './config.js';
import type { KillContext, StateKiller } from './execute.js';

export interface ConntrackSelector {
  mark?: CtMark;
  /** One host address per family. */
  replyDst: Cidr[];
  zone?: number;
}

const markText = z.union([z.string(), z.int()], { error: "expected a mark 'VALUE[/MASK]'" }).superRefine((v, ctx) => {
  try {
    parseConntrackMark(v, 'mark');
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message.replace(/^mark: /, '') });
  }
});

const hostAddr = z.string({ error: 'expected an IP address' }).superRefine((s, ctx) => {
  let c: Cidr | undefined;
  try {
    c = parseCidr(s, 'address');
  } catch {
    ctx.addIssue({ code: 'custom', message: `'${s}' is not an IPv4 or IPv6 address` });
    return;
  }
  if (s.includes('/') || c.ifname) ctx.addIssue({ code: 'custom', message: `expected a host address without a prefix or scope, got '${s}'` });
});

/** The `conntrack` key of a gateway (zod, strict: unknown keys are refused like everywhere else). */
export const conntrackSelectorSchema = z
  .strictObject({
    mark: markText.optional(),
    replyDst: z.union([hostAddr, z.strictObject({ inet: hostAddr.optional(), inet6: hostAddr.optional() })], {
      error: 'expected an address or {inet, inet6}',
    }).optional(),
    zone: z.int({ error: 'expected a zone 0-65535' }).min(0, { error: 'expected a zone 0-65535' }).max(65535, { error: 'expected a zone 0-65535' }).optional(),
  }, { error: 'expected {mark, replyDst, zone}' })
  .refine((c) => c.mark !== undefined || c.replyDst !== undefined, { error: 'expected at least one of mark, replyDst' });

export type ConntrackSelectorInput = z.infer<typeof conntrackSelectorSchema>;

/** The validated schema value as the policy uses it. */
export function conntrackSelectorFrom(c: ConntrackSelectorInput): ConntrackSelector {
  const texts = c.replyDst === undefined ? [] : typeof c.replyDst === 'string' ? [c.replyDst] : [c.replyDst.inet, c.replyDst.inet6];
  const replyDst = texts.filter((t): t is string => t !== undefined).map((t) => parseCidr(t, 'reply destination'));
  const out: ConntrackSelector = { replyDst };
  if (c.mark !== undefined) out.mark = parseConntrackMark(c.mark, 'mark');
  if (c.zone !== undefined) out.zone = c.zone;
  return out;
}

/** A failover of `gw` on conntrack: its mark, OR each of its reply destinations (scoped by zone). */
export function conntrackFailoverSelections(gw: GatewayConfig): Selection[] {
  const ct = gw.conntrack;
  if (!ct || (!ct.mark && !ct.replyDst.length))
    throw badInput(`gateway ${gw.name} has no conntrack selector (gateways[].conntrack: {mark, replyDst}); refusing to guess its entries`);
  const zone = ct.zone === undefined ? {} : { zone: ct.zone };
  const out: Selection[] = [];
  if (ct.mark) {
    const why = conntrackMarkRefusal(ct.mark);
    if (why) throw badInput(`gateway ${gw.name} conntrack: ${why}`);
    out.push({ name: `gateway ${gw.name} conntrack mark`, mark: { ...ct.mark }, ...zone });
  }
  for (const a of ct.replyDst) out.push({ name: `gateway ${gw.name} reply destination`, replyDst: { ...a }, ...zone });
  return out;
}

/**
 * Refuses, before anything is read or killed, a config the conntrack backend cannot carry out: a
 * gateway without a conntrack selector, or a failback kill (pf next hop and rule numbers).
 */
export function requireConntrackSelectors(config: PolicyConfig): void {
  const missing = config.gateways.map((g, i) => ({ g, i })).filter(({ g }) => !g.conntrack);
  if (missing.length)
    throw badInput(`--backend conntrack: ${missing.map(({ g, i }) => `gateways[${i}] (${g.name})`).join(', ')} ha${missing.length > 1 ? 've' : 's'} ` +
      "no conntrack selector; add conntrack: {mark: 'VALUE/MASK', replyDst: ADDRESS} (docs/conntrack.md)");
  const groups = config.groups.map((g, i) => ({ g, i })).filter(({ g }) => g.failback === 'kill');
  const metered = config.gateways.map((g, i) => ({ g, i })).filter(({ g }) => g.failbackByPriority);
  if (groups.length || metered.length)
    throw badInput(`--backend conntrack: ${[...groups.map(({ g, i }) => `groups[${i}] (${g.name}) has failback: kill`),
      ...metered.map(({ g, i }) => `gateways[${i}] (${g.name}) has failbackByPriority`)].join(', ')}; ` +
      'failback selects by pf next hop and rule, which conntrack entries do not carry (use failback: keep)');
}

/** The conntrack selections for a decision the policy made with pf selections. */
export function conntrackSelectionsFor(config: PolicyConfig, d: KillContext): Selection[] {
  if (d.kind !== 'failover') throw badInput(`--backend conntrack: a ${d.kind} kill for gateway ${d.gateway} cannot be expressed on conntrack entries`);
  const gw = config.gateways.find((g) => g.name === d.gateway);
  if (!gw) throw badInput(`--backend conntrack: unknown gateway '${d.gateway}'`);
  return conntrackFailoverSelections(gw);
}

/** Wraps the engine's killer: each failover kill uses the gateway's conntrack selector. */
export function conntrackKiller(inner: StateKiller, config: () => PolicyConfig): StateKiller {
  return (selections, why, decision): Promise<Report> => {
    if (!decision) return Promise.reject(badInput('--backend conntrack: a kill without its decision cannot be mapped to conntrack entries'));
    try {
      return inner(conntrackSelectionsFor(config(), decision), why, decision);
    } catch (e) {
      return Promise.reject(e);
    }
  };
}

/**
 * The killer the CLI hands to the policy for `target`: unchanged for pf, wrapped (and the config
 * checked now, exit 2 before anything runs) for conntrack. `config` is read at each kill (watch reloads it).
 */
export function killerForTarget(target: { conntrack?: unknown }, inner: StateKiller, config: () => PolicyConfig): StateKiller {
  if (target.conntrack === undefined) return inner;
  requireConntrackSelectors(config());
  return conntrackKiller(inner, config);
}
